"""Bad numbers and times given to the scheduler fail where they are given (issue #22).

add_task, @task, preview_task_runs, the scheduler's options and the stores' options:
each value either works or raises ValueError/TypeError naming the argument at the call.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncz_like.stores.base import check_lease_options
from asyncz_like.stores.file import FileStore
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.unit.numbers import FAST, anything, clean, job, texts, times

# -- add_task and @task ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"days": 2**63}, "days=9223372036854775808 is longer than the calendar"),
        ({"weeks": 1e6}, "weeks=1000000.0 is longer than the calendar"),
        ({"hours": math.inf}, "hours=inf is not a finite number"),
        ({"hours": math.nan}, "hours=nan is not a finite number"),
        ({"weeks": 500_000}, "the first fire is too far in the future (beyond 9999-12-30)"),
        ({"weeks": 500_000, "jitter": 1}, "the first fire is too far in the future"),
        ({"weeks": 500_000, "timezone": "Asia/Tokyo"}, "the first fire is too far"),
        ({"days": 1, "jitter": 10**30}, "jitter=1000000000000000000000000000000 is longer"),
    ],
)
def test_add_task_names_an_interval_it_cannot_schedule(
    scheduler: ManualScheduler, kwargs: dict[str, Any], text: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        scheduler.add_task(job, "interval", **kwargs)
    assert scheduler.get_tasks() == []


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"mistrigger_grace_time": math.nan}, ValueError, "mistrigger_grace_time=nan"),
        ({"mistrigger_grace_time": math.inf}, ValueError, "mistrigger_grace_time=inf"),
        ({"mistrigger_grace_time": 1e300}, ValueError, "mistrigger_grace_time=1e+300 is longer"),
        ({"max_instances": 2**70}, ValueError, "max_instances=1180591620717411303424 is too"),
        ({"max_instances": math.inf}, TypeError, "max_instances must be a positive integer"),
        ({"next_run_time": datetime.max.replace(tzinfo=UTC)}, ValueError, "next_run_time="),
        ({"next_run_time": "0001-01-01T00:00:00"}, ValueError, "next_run_time="),
    ],
)
def test_add_task_names_a_bad_option(
    scheduler: ManualScheduler, options: dict[str, Any], error: type, text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        scheduler.add_task(job, "interval", hours=1, **options)
    assert scheduler.get_tasks() == []


def test_a_grace_time_as_long_as_the_calendar_still_fires(
    scheduler: ManualScheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    scheduler.add_task(calls.append, "interval", seconds=1, args=[1], mistrigger_grace_time=3e11)
    clock.advance(10)  # nine fires missed: the window of the grace time starts before year 1
    scheduler.process_tasks()
    assert calls == [1]


@pytest.mark.parametrize(
    ("interval", "text"),
    [
        (10**12, "interval=1000000000000 is longer than the calendar"),
        (3e11, "the first fire is too far in the future"),
        (math.nan, "interval=nan is not a finite number"),
        ("1" + "0" * 400 + "s", "is not a finite number"),
    ],
)
def test_task_decorator_names_an_interval_it_cannot_schedule(
    scheduler: ManualScheduler, interval: Any, text: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        scheduler.task(interval=interval)(job)
    assert scheduler.get_tasks() == []


@pytest.mark.parametrize(
    ("count", "error", "text"),
    [
        (math.inf, TypeError, "count must be an int, got count=inf"),
        (math.nan, TypeError, "count must be an int"),
        ("x", TypeError, "count must be an int"),
        (-1, ValueError, "count must not be negative"),
        (2**70, ValueError, "count=1180591620717411303424 is too large"),
    ],
)
def test_preview_task_runs_names_a_bad_count(
    scheduler: ManualScheduler, count: Any, error: type, text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        scheduler.preview_task_runs("interval", count=count, hours=1)


def test_preview_stops_at_the_end_of_the_calendar(scheduler: ManualScheduler) -> None:
    start = datetime(9999, 12, 30, 21, tzinfo=UTC)
    times = scheduler.preview_task_runs("interval", count=10, hours=1, start_at=start)
    assert times == [start + timedelta(hours=hours) for hours in range(3)]


# -- the scheduler's and the stores' options -------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"max_wait": math.nan}, ValueError, "max_wait=nan is not a finite number"),
        ({"max_wait": math.inf}, ValueError, "max_wait=inf is not a finite number"),
        ({"max_wait": -1}, ValueError, "max_wait must be positive"),
        ({"max_wait": 1e12}, ValueError, "max_wait=1000000000000.0 is too long a wait"),
        ({"max_wait": "soon"}, ValueError, "max_wait: expected a number, got 'soon'"),
        ({"lock_retry_interval": math.nan}, ValueError, "lock_retry_interval=nan"),
        ({"run_cleanup_interval": "nan"}, ValueError, "run_cleanup_interval=nan"),
        ({"batch_size": math.inf}, ValueError, "batch_size: expected a positive integer"),
        ({"batch_size": 2**70}, ValueError, "batch_size=1180591620717411303424 is too large"),
        ({"claim_ahead": math.nan}, ValueError, "claim_ahead"),
        ({"run_result_ttl": math.nan}, ValueError, "run_result_ttl=nan"),
        ({"run_result_ttl": "x"}, ValueError, "run_result_ttl: expected a number, got 'x'"),
        ({"max_run_history": 2**70}, ValueError, "max_run_history=1180591620717411303424"),
        (
            {"task_defaults": {"mistrigger_grace_time": math.nan}},
            ValueError,
            "task_defaults.mistrigger_grace_time=nan is not a finite number",
        ),
        (
            {"task_defaults": {"mistrigger_grace_time": -1}},
            ValueError,
            "task_defaults.mistrigger_grace_time must be positive",
        ),
    ],
)
def test_scheduler_options_name_a_bad_number(
    options: dict[str, Any], error: type, text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        manual_scheduler(**options)


def test_scheduler_options_from_text_are_read() -> None:
    config = {"asyncz_like.max_wait": "5", "asyncz_like.task_defaults.mistrigger_grace_time": "2"}
    scheduler = manual_scheduler()
    scheduler.setup(config)
    assert scheduler.max_wait == 5.0 and scheduler.task_defaults.mistrigger_grace_time == 2.0


@pytest.mark.parametrize(
    ("lease", "poll", "text"),
    [
        (math.inf, 1, "lease_seconds=inf is not a finite number"),
        (math.nan, 1, "lease_seconds=nan is not a finite number"),
        (0, 1, "lease_seconds must be positive"),
        ("30", 1, "lease_seconds must be a number"),
        (1e30, 1, "lease_seconds=1e+30 is longer than the calendar"),
        (30, math.inf, "poll_interval=inf is not a finite number"),
        (30, math.nan, "poll_interval=nan is not a finite number"),
        (30, 1e12, "poll_interval=1000000000000.0 is too long a wait"),
    ],
)
def test_store_lease_options_are_named(lease: Any, poll: Any, text: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        check_lease_options(lease, poll)
    with pytest.raises(ValueError, match=re.escape(text)):
        FileStore(tmp_path, lease_seconds=lease, poll_interval=poll)
    with pytest.raises(ValueError, match=re.escape(text)):
        SQLAlchemyStore(database="sqlite://", lease_seconds=lease, poll_interval=poll)


def test_sqlalchemy_batch_size_is_bounded() -> None:
    with pytest.raises(ValueError, match="batch_size=1180591620717411303424 is too large"):
        SQLAlchemyStore(database="sqlite://", batch_size=2**70)


# -- properties: any input either works or fails at the call with ValueError/TypeError -----


UNITS = st.sampled_from(["weeks", "days", "hours", "minutes", "seconds"])


@FAST
@given(UNITS, anything, st.one_of(st.none(), anything))
def test_add_task_interval_takes_any_number(unit: str, amount: Any, jitter: Any) -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    task = clean(lambda: scheduler.add_task(job, "interval", **{unit: amount}, jitter=jitter))
    if task is not None:
        assert task.next_run_time is not None and task.next_run_time.tzinfo is not None
        assert scheduler.process_tasks() is not None or scheduler.get_tasks()


@FAST
@given(
    st.sampled_from(["mistrigger_grace_time", "max_instances", "next_run_time"]),
    st.one_of(anything, texts, times),
)
def test_add_task_takes_any_option(option: str, value: Any) -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    if clean(lambda: scheduler.add_task(job, "interval", hours=1, **{option: value})):
        scheduler.process_tasks()


@FAST
@given(st.one_of(anything, texts, st.timedeltas()))
def test_task_decorator_takes_any_interval(interval: Any) -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    if clean(lambda: scheduler.task(interval=interval)(job)) is not None:
        assert [task.next_run_time is not None for task in scheduler.get_tasks()] == [True]


@FAST
@given(st.one_of(anything, texts), st.sampled_from(["interval", "date", "cron"]))
def test_preview_takes_any_count(count: Any, alias: str) -> None:
    scheduler = manual_scheduler(FakeClock())
    options = {"interval": {"weeks": 100_000}, "date": {}, "cron": {"year": "*/1000"}}[alias]
    times = clean(lambda: scheduler.preview_task_runs(alias, count=count, **options))
    assert times is None or all(fire.tzinfo is not None for fire in times)


@FAST
@given(
    st.sampled_from(
        [
            "max_wait",
            "lock_retry_interval",
            "batch_size",
            "claim_ahead",
            "run_cleanup_interval",
            "run_result_ttl",
            "max_run_history",
        ]
    ),
    st.one_of(anything, texts),
)
def test_scheduler_takes_any_option(option: str, value: Any) -> None:
    clean(lambda: manual_scheduler(FakeClock(), **{option: value}))
    clean(lambda: manual_scheduler(FakeClock(), task_defaults={"mistrigger_grace_time": value}))


@FAST
@given(st.one_of(anything, texts), st.one_of(anything, texts))
def test_store_options_take_any_number(lease: Any, poll: Any) -> None:
    clean(lambda: check_lease_options(lease, poll))
