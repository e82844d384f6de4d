"""Priority queues in front of the executors.

Each executor has one lane per kind of work it runs with its own limit (pools: one; the
asyncio executor: coroutines and threads). A lane holds at most ``capacity`` runs handed over
and not yet ended; the rest wait in a heap, highest priority first, first come first within
a priority.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from asyncz_like.workers.job import Place, RunJob

if TYPE_CHECKING:
    import threading


class Lane:
    """The runs of one lane: how many hold a worker (``busy``) and the heap of waiting ones."""

    __slots__ = ("busy", "capacity", "heap", "key")

    def __init__(self, key: tuple[str, str], capacity: int | None) -> None:
        self.key = key
        self.capacity = capacity
        self.busy = 0
        self.heap: list[tuple[int, int, RunJob]] = []

    @property
    def label(self) -> str:
        alias, kind = self.key
        return alias if kind == "workers" else f"{alias}:{kind}"


class Lanes:
    """Lanes by key, and the hand-over loop.

    Only one thread hands over at a time, so that runs leave in priority order; a thread that
    finds another one handing over leaves it a note to look again, and returns.
    """

    def __init__(self, lock: threading.Lock, send: Callable[[RunJob, int], None]) -> None:
        self._lock = lock
        self._send = send
        self.lanes: dict[tuple[str, str], Lane] = {}
        self._handing_over = False
        self._again = False

    def empty(self) -> bool:
        """Whether no job waits in any lane (a hand-over would find nothing to send)."""
        return not any(lane.heap for lane in self.lanes.values())

    def push(self, job: RunJob, seq: int) -> None:
        """Queue a job as READY (call with the lock held)."""
        lane = self.lanes.get(job.lane_key)
        if lane is None:
            lane = self.lanes[job.lane_key] = Lane(job.lane_key, job.capacity)
        job.place = Place.READY
        job.ready_seq = seq
        heapq.heappush(lane.heap, (-job.run.priority, seq, job))

    def reset(self, ready: Iterable[RunJob]) -> None:
        """Forget the lanes (and what they count) and queue ``ready`` jobs again, in their
        order (at start: workers of a previous run are not ours to count)."""
        self.lanes = {}
        for job in sorted(ready, key=lambda job: job.ready_seq):
            self.push(job, job.ready_seq)

    def release(self, job: RunJob, token: int) -> None:
        """The hand-over ``token`` of ``job`` ended: free its place in the lane (lock held)."""
        if job.lane is not None and job.lane_token == token:
            job.lane.busy -= 1
            job.lane = None

    def take(self) -> list[tuple[RunJob, int]]:
        """Pop what the lanes have room for, best first; mark those jobs OUT (lock held)."""
        taken: list[tuple[RunJob, int]] = []
        for lane in self.lanes.values():
            heap, capacity = lane.heap, lane.capacity
            while heap and (capacity is None or lane.busy < capacity):
                _, seq, job = heapq.heappop(heap)
                if job.place is not Place.READY or job.ready_seq != seq:
                    continue  # cancelled, or queued again since
                lane.busy += 1
                job.token += 1
                job.place = Place.OUT
                job.lane, job.lane_token = lane, job.token
                taken.append((job, job.token))
        return taken

    def hand_over(self, allowed: Callable[[], bool], taken: Callable[[RunJob], None]) -> None:
        """Hand over ready jobs until the lanes are full or empty. ``taken`` is called for
        each job taken, with the lock held."""
        with self._lock:
            if self._handing_over:
                self._again = True
                return
            self._handing_over = True
        try:
            while True:
                with self._lock:
                    batch = self.take() if allowed() else []
                    for job, _ in batch:
                        taken(job)
                    if not batch:
                        if not self._again:
                            self._handing_over = False
                            return
                        self._again = False
                for job, token in batch:
                    self._send(job, token)
        except BaseException:
            with self._lock:
                self._handing_over = False
            raise
