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

from asyncz_like.workers.submitted import Place, SubmittedRun

if TYPE_CHECKING:
    import threading


class Lane:
    """The runs of one lane: how many hold a worker (``busy``) and the heap of waiting ones."""

    __slots__ = ("busy", "capacity", "heap", "key")

    def __init__(self, key: tuple[str, str], capacity: int | None) -> None:
        self.key = key
        self.capacity = capacity
        self.busy = 0
        self.heap: list[tuple[int, int, SubmittedRun]] = []

    @property
    def label(self) -> str:
        alias, kind = self.key
        return alias if kind == "workers" else f"{alias}:{kind}"


class Lanes:
    """Lanes by key, and the hand-over loop.

    Only one thread hands over at a time, so that runs leave in priority order; a thread that
    finds another one handing over leaves it a note to look again, and returns.
    """

    def __init__(self, lock: threading.Lock, send: Callable[[SubmittedRun, int], None]) -> None:
        self._lock = lock
        self._send = send
        self.lanes: dict[tuple[str, str], Lane] = {}
        self._handing_over = False
        self._again = False

    def empty(self) -> bool:
        """Whether no submitted run waits in any lane (a hand-over would find nothing to send)."""
        return not any(lane.heap for lane in self.lanes.values())

    def push(self, submitted: SubmittedRun, seq: int) -> None:
        """Queue a submitted run as READY (call with the lock held)."""
        lane = self.lanes.get(submitted.lane_key)
        if lane is None:
            lane = self.lanes[submitted.lane_key] = Lane(submitted.lane_key, submitted.capacity)
        submitted.place = Place.READY
        submitted.ready_seq = seq
        heapq.heappush(lane.heap, (-submitted.run.priority, seq, submitted))

    def reset(self, ready: Iterable[SubmittedRun]) -> None:
        """Forget the lanes (and what they count) and queue ``ready`` submitted runs again, in their
        order (at start: workers of a previous run are not ours to count)."""
        self.lanes = {}
        for submitted in sorted(ready, key=lambda submitted: submitted.ready_seq):
            self.push(submitted, submitted.ready_seq)

    def release(self, submitted: SubmittedRun, token: int) -> None:
        """The hand-over ``token`` of ``submitted`` ended: free its lane place (lock held)."""
        if submitted.lane is not None and submitted.lane_token == token:
            submitted.lane.busy -= 1
            submitted.lane = None

    def take(self) -> list[tuple[SubmittedRun, int]]:
        """Pop what the lanes have room for, best first; mark those runs OUT (lock held)."""
        taken: list[tuple[SubmittedRun, int]] = []
        for lane in self.lanes.values():
            heap, capacity = lane.heap, lane.capacity
            while heap and (capacity is None or lane.busy < capacity):
                _, seq, submitted = heapq.heappop(heap)
                if submitted.place is not Place.READY or submitted.ready_seq != seq:
                    continue  # cancelled, or queued again since
                lane.busy += 1
                submitted.token += 1
                submitted.place = Place.OUT
                submitted.lane, submitted.lane_token = lane, submitted.token
                taken.append((submitted, submitted.token))
        return taken

    def hand_over(self, allowed: Callable[[], bool], taken: Callable[[SubmittedRun], None]) -> None:
        """Hand over ready submitted runs until the lanes are full or empty. ``taken`` is called for
        each submitted run taken, with the lock held."""
        with self._lock:
            if self._handing_over:
                self._again = True
                return
            self._handing_over = True
        try:
            while True:
                with self._lock:
                    batch = self.take() if allowed() else []
                    for submitted, _ in batch:
                        taken(submitted)
                    if not batch:
                        if not self._again:
                            self._handing_over = False
                            return
                        self._again = False
                for submitted, token in batch:
                    self._send(submitted, token)
        except BaseException:
            with self._lock:
                self._handing_over = False
            raise
