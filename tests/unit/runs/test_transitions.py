"""Every legal status move happens through the public API, and only those."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from asyncz_like.runs import RunStatus, current_run
from asyncz_like.runs.run import Run
from asyncz_like.workers.ledger import Ledger
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.unit.runs.test_status import LEGAL

Moves = set[tuple[RunStatus, RunStatus]]


@pytest.fixture
def moves(monkeypatch: pytest.MonkeyPatch) -> Moves:
    seen: Moves = set()
    original = Ledger.move

    def spy(self: Ledger, run: Run, new: RunStatus, now: datetime) -> Any:
        seen.add((run.status, new))
        return original(self, run, new, now)

    monkeypatch.setattr(Ledger, "move", spy)
    return seen


def boom() -> None:
    raise ValueError("boom")


def completes(s: ManualScheduler, clock: FakeClock) -> None:
    run = s.submit(sum, [1, 2])
    s.process_tasks()
    assert run.status is RunStatus.COMPLETED and run.result == 3


def fails(s: ManualScheduler, clock: FakeClock) -> None:
    run = s.submit(boom)
    s.process_tasks()
    assert run.status is RunStatus.FAILED and run.error is not None


def retries_then_completes(s: ManualScheduler, clock: FakeClock) -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("once")
        return "ok"

    run = s.submit(flaky, max_retries=1, retry_backoff=5)
    s.process_tasks()
    assert run.status is RunStatus.RETRYING
    clock.advance(6)
    s.process_tasks()
    assert run.status is RunStatus.COMPLETED and run.attempt == 2


def cancelled_while_retrying(s: ManualScheduler, clock: FakeClock) -> None:
    run = s.submit(boom, max_retries=3, retry_backoff=5)
    s.process_tasks()
    assert s.cancel_run(run.id) and run.status is RunStatus.CANCELLED


def executor_gone_before_retry(s: ManualScheduler, clock: FakeClock) -> None:
    s.add_executor({"type": "debug"}, "extra")
    run = s.submit(boom, max_retries=1, retry_backoff=5, executor="extra")
    s.process_tasks()
    s.remove_executor("extra")
    clock.advance(6)
    s.process_tasks()
    assert run.status is RunStatus.FAILED and run.error is not None
    assert run.error.type == "UnknownAliasError"


def cancelled_while_pending(s: ManualScheduler, clock: FakeClock) -> None:
    run = s.submit(sum, [1], delay=10)
    assert s.cancel_run(run.id) and run.status is RunStatus.CANCELLED


def executor_gone_before_start(s: ManualScheduler, clock: FakeClock) -> None:
    s.add_executor({"type": "debug"}, "extra")
    run = s.submit(sum, [1], executor="extra")
    s.remove_executor("extra")
    s.process_tasks()
    assert run.status is RunStatus.FAILED


def cancelled_while_running(s: ManualScheduler, clock: FakeClock) -> None:
    def cancels_itself() -> str:
        current = current_run()
        assert current is not None
        assert s.cancel_run(current.id)
        return "dropped"

    run = s.submit(cancels_itself)
    s.process_tasks()
    assert run.status is RunStatus.CANCELLED and run.result is None


def times_out(s: ManualScheduler, clock: FakeClock) -> None:
    def slow() -> str:
        clock.advance(10)
        s.process_tasks()  # the loop's pass sees the deadline
        return "too late"

    run = s.submit(slow, timeout=5)
    s.process_tasks()
    assert run.status is RunStatus.TIMEOUT and run.result is None


SCENARIOS: list[Callable[[ManualScheduler, FakeClock], None]] = [
    completes,
    fails,
    retries_then_completes,
    cancelled_while_retrying,
    executor_gone_before_retry,
    cancelled_while_pending,
    executor_gone_before_start,
    cancelled_while_running,
    times_out,
]


def test_every_legal_move_is_made_by_some_use_of_the_api(moves: Moves) -> None:
    for scenario in SCENARIOS:
        clock = FakeClock()
        scheduler = manual_scheduler(clock)
        scheduler.start()
        scenario(scheduler, clock)
        scheduler.shutdown()
    assert moves == LEGAL
