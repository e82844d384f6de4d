"""Wake-up messages that each carry the ids of many runs, and what is left open of each.

An enqueue of many runs publishes one message per queue and priority (up to
:data:`MAX_RUNS` ids each) instead of one per run: RabbitMQ spent about 35 µs of CPU on each
persistent message and pika 13 µs publishing it (10,000 messages on a loaded 2-core machine),
more than the whole enqueue in the state broker. A message of one run keeps the run id as its
body; one of several has the JSON list of their ids, with the content type
``application/json``.

A worker settles a message once every run it carries is settled: claimed by another worker,
or claimed here and ended. :class:`OpenBatches` counts, per delivery tag, the runs of its
message still open here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

#: Message priorities run 0..MAX_PRIORITY (RabbitMQ advises at most 10 levels); run
#: priorities outside are clamped (the state broker keeps the exact order).
MAX_PRIORITY = 9
#: ``(queue, run_id, priority)``: a run of ``queue`` is due.
Wakeup = tuple[str, str, int]
#: Most run ids one wake-up message carries: a batch makes enough messages to wake several
#: workers (prefetch counts messages), and a worker's claims look through a few hundred
#: ids held at most, at about 1 µs a run of publishing (pika's and RabbitMQ's CPU).
MAX_RUNS = 50
#: The content type of a message that carries several run ids.
MANY = "application/json"


def message_priority(priority: int) -> int:
    return max(0, min(MAX_PRIORITY, priority))


def messages_of(wakeups: list[Wakeup]) -> Iterator[tuple[str, int, bytes, str | None]]:
    """The messages of ``wakeups``: per queue and message priority, in the order they first
    come, up to MAX_RUNS ids each: ``(queue, priority, body, content type)``."""
    batches: dict[tuple[str, int], list[str]] = {}
    for queue, run_id, priority in wakeups:
        batches.setdefault((queue, message_priority(priority)), []).append(run_id)
    for (queue, priority), run_ids in batches.items():
        for start in range(0, len(run_ids), MAX_RUNS):
            yield (queue, priority, *body_of(run_ids[start : start + MAX_RUNS]))


def body_of(run_ids: list[str]) -> tuple[bytes, str | None]:
    """The body of a wake-up for ``run_ids`` and its content type."""
    if len(run_ids) == 1:
        return run_ids[0].encode(), None
    return json.dumps(run_ids, ensure_ascii=False, separators=(",", ":")).encode(), MANY


def run_ids_of(body: bytes, content_type: str | None) -> list[str]:
    """The run ids of a wake-up's body; none when it cannot be read (it is acked)."""
    if content_type != MANY:
        return [body.decode("utf-8", "replace")]
    try:
        found: Any = json.loads(body)
    except ValueError:
        return []
    if not isinstance(found, list):
        return []
    return [run_id for run_id in found if isinstance(run_id, str)]


class OpenBatches:
    """Per delivery tag: how many runs its message carries and how many are still open
    here (in the inbox or held). Used under the wake-ups' lock."""

    def __init__(self) -> None:
        self._open: dict[int, list[int]] = {}  # tag -> [runs open, runs carried]

    def clear(self) -> None:
        """A new channel: the old one's tags are void."""
        self._open.clear()

    def opened(self, tag: int, runs: int, carried: int) -> None:
        """A message of ``carried`` runs came in, ``runs`` of them open here."""
        self._open[tag] = [runs, carried]

    def open_runs(self, tag: int) -> int:
        entry = self._open.get(tag)
        return 0 if entry is None else entry[0]

    def settle(self, tag: int, runs: int = 1) -> bool:
        """``runs`` of ``tag``'s message settled; True when none is left open (ack it)."""
        entry = self._open.get(tag)
        if entry is None:
            return False
        entry[0] -= runs
        if entry[0] > 0:
            return False
        del self._open[tag]
        return True

    def settle_others(
        self, others: dict[int, list[str]], full: bool
    ) -> tuple[list[int], list[int]]:
        """For the runs of a claim's queues it did not get (their ids per tag): the tags to
        ack and to requeue; the runs of the others stay open. After a claim that was not
        full, they are settled (another worker has them, or they ended). After a ``full``
        one they may still wait: the message of one run is requeued for another worker, as
        a wake-up per run was; a message of several is kept until a claim that is not full
        (requeued, it came straight back to this worker, which has room in its prefetch,
        and its ids were read again at every claim: a drain of 10,000 runs in batches went
        from 2,100-2,850 to 830-965 runs/s). Another idle worker still finds those runs:
        its wait watches the state broker too."""
        acked: list[int] = []
        requeued: list[int] = []
        for tag, runs in others.items():
            entry = self._open.get(tag)
            if entry is None:
                continue
            if full and entry[1] > 1:
                continue
            if full:
                del self._open[tag]
                requeued.append(tag)
            elif self.settle(tag, len(runs)):
                acked.append(tag)
        return acked, requeued
