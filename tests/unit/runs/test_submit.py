"""submit(): returns at once, validates everything where it is given, honours due times."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.exceptions import SerializationError, TaskConfigurationError, UnknownAliasError
from asyncz_like.runs import Backoff, RunStatus, TaskPriority
from asyncz_like.schedulers.base import BaseScheduler
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.runs.helpers import double


def test_submit_returns_a_pending_run_at_once(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    calls: list[int] = []
    run = scheduler.submit(calls.append, 1, name="append one", priority=TaskPriority.HIGH)
    assert run.status is RunStatus.PENDING and calls == []
    assert run.name == "append one" and run.priority == 10 and run.task_id is None
    assert run.created_at == START and run.scheduled_at == START and run.attempt == 0
    assert scheduler.get_run(run.id) is run
    assert scheduler.wakeups >= 1  # the loop was asked for a pass
    scheduler.process_tasks()
    assert calls == [1] and run.status is RunStatus.COMPLETED and run.finished_at == START


def test_fn_as_a_reference_and_keyword_arguments(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    run = scheduler.submit("tests.unit.runs.helpers:double", x=21)
    scheduler.process_tasks()
    assert run.result == 42 and run.name == "double"


def test_delay_runs_later_on_the_scheduler_clock(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    run = scheduler.submit(double, 2, delay=timedelta(seconds=30))
    later = scheduler.submit(double, 3, delay=60)
    assert run.scheduled_at == START + timedelta(seconds=30)
    assert scheduler.process_tasks() == pytest.approx(30)  # the loop sleeps until it is due
    clock.advance(29)
    scheduler.process_tasks()
    assert run.status is RunStatus.PENDING
    clock.advance(1)
    assert scheduler.process_tasks() == pytest.approx(30)
    assert run.status is RunStatus.COMPLETED and later.status is RunStatus.PENDING


def test_an_earlier_run_wakes_the_loop(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    scheduler.add_task(double, "interval", hours=1, args=[1])
    assert scheduler.process_tasks() == pytest.approx(30)  # max_wait
    before = scheduler.wakeups
    scheduler.submit(double, 1, delay=5)
    assert scheduler.wakeups == before + 1
    assert scheduler.process_tasks() == pytest.approx(5)


def test_naive_schedule_at_is_read_in_the_scheduler_zone(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, timezone="Europe/Paris")
    run = scheduler.submit(double, 1, schedule_at=datetime(2026, 1, 5, 14, 0))
    assert run.scheduled_at == datetime(2026, 1, 5, 14, 0, tzinfo=ZoneInfo("Europe/Paris"))
    assert run.scheduled_at == START + timedelta(hours=1)


def test_schedule_at_in_the_past_runs_at_once(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    run = scheduler.submit(double, 1, schedule_at=START - timedelta(days=1))
    scheduler.process_tasks()
    assert run.status is RunStatus.COMPLETED


def test_submitted_before_start_runs_at_start_and_not_while_paused(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    run = scheduler.submit(double, 1)
    scheduler.start(paused=True)
    scheduler.process_tasks()
    assert run.status is RunStatus.PENDING
    scheduler.resume()
    scheduler.process_tasks()
    assert run.status is RunStatus.COMPLETED


def lambda_fn(x: int) -> int:
    return x


BAD: list[tuple[Callable[[BaseScheduler], Any], type[Exception], str]] = [
    (lambda s: s.submit(double, 1, delay=-1), ValueError, "delay must not be negative"),
    (lambda s: s.submit(double, 1, delay=timedelta(seconds=-1)), ValueError, "delay"),
    (lambda s: s.submit(double, 1, delay="soon"), TypeError, "delay"),
    (lambda s: s.submit(double, 1, delay=1, schedule_at=START), ValueError, "not both"),
    (lambda s: s.submit(double, 1, schedule_at=12), TypeError, "schedule_at"),
    (lambda s: s.submit(double, 1, priority=1.5), TypeError, "priority must be an int"),
    (lambda s: s.submit(double, 1, priority=True), TypeError, "priority must be an int"),
    (lambda s: s.submit(double, 1, priority="high"), TypeError, "priority must be an int"),
    (lambda s: s.submit(double, 1, max_retries=-1), ValueError, "max_retries must be >= 0"),
    (lambda s: s.submit(double, 1, max_retries=1.0), TypeError, "max_retries must be an int"),
    (lambda s: s.submit(double, 1, timeout=0), ValueError, "timeout must be positive"),
    (lambda s: s.submit(double, 1, timeout=-3), ValueError, "timeout must be positive"),
    (lambda s: s.submit(double, 1, retry_backoff=-1), ValueError, "retry_backoff"),
    (lambda s: s.submit(double, 1, retry_backoff="x"), TypeError, "retry_backoff"),
    (lambda s: s.submit(double, 1, retry_on=ValueError()), TypeError, "retry_on"),
    (lambda s: s.submit(double, 1, retry_on=(ValueError, int)), TypeError, "retry_on"),
    (lambda s: s.submit(double, 1, name=""), TypeError, "name"),
    (lambda s: s.submit(double, 1, executor="nope"), UnknownAliasError, "nope"),
    (lambda s: s.submit(double, 1, 2), ValueError, "positional arguments is longer"),
    (lambda s: s.submit(42), TypeError, "fn must be a callable"),
    (lambda s: s.submit("tests.unit.runs.helpers:nope"), TaskConfigurationError, "nope"),
    (lambda s: s.submit(lambda: 1, executor="proc"), ValueError, "module-level function"),
    (
        lambda s: s.submit(lambda_fn, threading.Lock(), executor="proc"),
        SerializationError,
        "must pickle",
    ),
]


@pytest.mark.parametrize(("call", "error", "text"), BAD)
def test_bad_input_fails_at_submit(
    call: Callable[[BaseScheduler], Any], error: type[Exception], text: str
) -> None:
    scheduler = manual_scheduler(executors={"proc": {"type": "processpool", "max_workers": 1}})
    with pytest.raises(error, match=text):
        call(scheduler)
    assert scheduler.list_runs() == []  # nothing half-submitted


def test_options_are_kept(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    backoff = Backoff(base=2, jitter=0)
    run = scheduler.submit(double, 1, timeout=timedelta(minutes=1), retry_backoff=backoff)
    submitted = scheduler._runs._submitted[run.id]
    assert submitted.options.timeout == 60.0 and submitted.options.backoff is backoff
    assert submitted.options.retry_on == (Exception,)
