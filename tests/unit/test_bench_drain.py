"""benchmarks/drain.py waits for a drain without loading the server it times: ``stats()``
only once the last run enqueued has finished."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asyncz_like.brokers import MemoryBroker
from benchmarks.drain import enqueue_batches, wait_until_done


class Watched(MemoryBroker):
    """Counts ``stats`` calls; completes every run held once ``get_run`` was asked twice."""

    def __init__(self) -> None:
        super().__init__()
        self.stats_calls = self.reads = 0

    def stats(self, now: datetime) -> Any:
        self.stats_calls += 1
        return super().stats(now)

    def get_run(self, run_id: str) -> Any:
        self.reads += 1
        if self.reads == 2:
            now = datetime.now(UTC)  # drain.py enqueues at the real time
            for delivery in self.claim("w", ["default"], 1000, now):
                self.complete(delivery.run_id, delivery.token, None, now)
        return super().get_run(run_id)


def test_stats_are_read_only_once_the_last_run_has_finished() -> None:
    broker = Watched()
    last = enqueue_batches(broker, 5)
    wait_until_done(broker, 5, timeout=5, last=last)
    assert broker.reads == 2  # the first read found it pending, the second finished
    assert broker.stats_calls == 1  # then one stats() saw all five completed
