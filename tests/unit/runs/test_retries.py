"""Retries: exponential backoff with jitter on the scheduler's clock, RETRYING in between."""

from __future__ import annotations

from datetime import timedelta

import pytest

from asyncz_like.events import ALL_RUN_EVENTS, RUN_COMPLETED, RUN_RETRYING, RUN_STARTED
from asyncz_like.events.constants import RUN_FAILED, RUN_SUBMITTED
from asyncz_like.runs import Backoff, RunStatus
from asyncz_like.runs.backoff import as_backoff
from tests.helpers import START, FakeClock, Recorder, manual_scheduler


def test_backoff_grows_exponentially_with_injected_jitter() -> None:
    backoff = Backoff(base=2, factor=3, max_delay=50, jitter=0.5, random=lambda: 0.5)
    assert [backoff.delay(n) for n in (1, 2, 3, 4)] == [2.5, 7.5, 22.5, 62.5]  # 50 * 1.25
    assert Backoff(base=1, jitter=0, random=lambda: 0.9).delay(3) == 4.0
    assert Backoff(base=1, factor=10, max_delay=5, jitter=0).delay(1000) == 5.0  # no overflow
    assert as_backoff(3).base == 3.0 and as_backoff(timedelta(seconds=2)).base == 2.0


@pytest.mark.parametrize(
    "options", [{"base": -1}, {"factor": 0.5}, {"jitter": -0.1}, {"max_delay": "x"}]
)
def test_bad_backoff(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="Backoff"):
        Backoff(**options)  # type: ignore[arg-type]


class Flaky:
    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return "done"


def test_retries_wait_their_backoff_on_the_fake_clock(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, ALL_RUN_EVENTS)
    scheduler.start()
    flaky = Flaky(failures=2)
    backoff = Backoff(base=10, factor=2, jitter=0.2, random=lambda: 0.5)  # 11 s, then 22 s
    run = scheduler.submit(flaky, max_retries=3, retry_backoff=backoff)
    assert scheduler.process_tasks() == pytest.approx(11)
    assert run.status is RunStatus.RETRYING and run.attempt == 1
    assert run.error is not None and run.error.message == "failure 1"
    clock.advance(10.9)
    scheduler.process_tasks()
    assert flaky.calls == 1  # not yet
    clock.advance(0.1)
    assert scheduler.process_tasks() == pytest.approx(22)
    assert flaky.calls == 2 and run.attempt == 2 and run.status is RunStatus.RETRYING
    clock.advance(22)
    scheduler.process_tasks()
    assert run.status is RunStatus.COMPLETED and run.result == "done" and run.error is None
    assert run.attempt == 3 and run.started_at == START + timedelta(seconds=33)
    assert events.codes() == [
        RUN_SUBMITTED,
        RUN_STARTED,
        RUN_RETRYING,
        RUN_STARTED,
        RUN_RETRYING,
        RUN_STARTED,
        RUN_COMPLETED,
    ]
    assert isinstance(events.events[2].exception, ConnectionError)


def test_retries_run_out(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    flaky = Flaky(failures=5)
    run = scheduler.submit(flaky, max_retries=2, retry_backoff=0)
    scheduler.process_tasks()  # no backoff: all attempts in one pass
    assert flaky.calls == 3 and run.attempt == 3
    assert run.status is RunStatus.FAILED and run.error is not None
    assert run.error.type == "ConnectionError" and run.error.message == "failure 3"


def test_retry_on_limits_what_is_retried(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    events = Recorder()
    scheduler.add_listener(events.listener, RUN_FAILED | RUN_RETRYING)
    scheduler.start()
    wrong = Flaky(failures=1, error=ValueError)
    run = scheduler.submit(wrong, max_retries=3, retry_on=(ConnectionError, TimeoutError))
    scheduler.process_tasks()
    assert run.status is RunStatus.FAILED and wrong.calls == 1
    right = Flaky(failures=1, error=ConnectionRefusedError)  # a subclass of ConnectionError
    other = scheduler.submit(right, max_retries=3, retry_on=ConnectionError, retry_backoff=0)
    scheduler.process_tasks()
    assert other.status is RunStatus.COMPLETED and right.calls == 2
    assert events.codes() == [RUN_FAILED, RUN_RETRYING]


def test_no_retries_by_default(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    flaky = Flaky(failures=1)
    run = scheduler.submit(flaky)
    scheduler.process_tasks()
    assert run.status is RunStatus.FAILED and flaky.calls == 1
