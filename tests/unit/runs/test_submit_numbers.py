"""Bad numbers and times given to submit fail there, naming the argument (issue #22).

Each value either works or raises ValueError/TypeError at the call; the longest values taken
are held to the calendar when they are used (deadlines, retries).
"""

from __future__ import annotations

import asyncio
import math
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncz_like.limits import LAST, MAX_SECONDS
from asyncz_like.runs import Backoff, RunStatus
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.unit.numbers import FAST, anything, clean, job, texts, times
from tests.unit.runs.helpers import raise_key_error

# -- submit --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"delay": 10**30}, ValueError, "delay=1000000000000000000000000000000 is longer"),
        ({"delay": 1e30}, ValueError, "delay=1e+30 is longer than the calendar"),
        ({"delay": 3e11}, ValueError, "delay=300000000000.0 is too far in the future"),
        ({"delay": math.inf}, ValueError, "delay=inf is not a finite number"),
        ({"delay": math.nan}, ValueError, "delay=nan is not a finite number"),
        ({"delay": timedelta.max}, ValueError, "is longer than the calendar"),
        ({"timeout": math.inf}, ValueError, "timeout=inf is not a finite number"),
        ({"timeout": math.nan}, ValueError, "timeout=nan is not a finite number"),
        ({"timeout": 1e30}, ValueError, "timeout=1e+30 is longer than the calendar"),
        ({"retry_backoff": math.nan}, ValueError, "retry_backoff=nan is not a finite number"),
        ({"retry_backoff": math.inf}, ValueError, "retry_backoff=inf is not a finite number"),
        ({"priority": 2**70}, ValueError, "priority=1180591620717411303424 is too large"),
        ({"priority": -(2**70)}, ValueError, "priority must be at least"),
        ({"max_retries": 2**70}, ValueError, "max_retries=1180591620717411303424 is too"),
        ({"schedule_at": "9999-12-31T12:00:00"}, ValueError, "schedule_at=9999-12-31T12:00"),
        ({"schedule_at": datetime.min}, ValueError, "schedule_at=0001-01-01T00:00:00"),
    ],
)
def test_submit_names_a_bad_number(
    scheduler: ManualScheduler, options: dict[str, Any], error: type, text: str
) -> None:
    with pytest.raises(error, match=re.escape(text)):
        scheduler.submit(job, **options)
    assert scheduler.list_runs() == []


@pytest.mark.parametrize(
    "backoff",
    [
        lambda: Backoff(base=math.nan),
        lambda: Backoff(factor=math.inf),
        lambda: Backoff(jitter=math.nan),
        lambda: Backoff(factor=0.5),
        lambda: Backoff(max_delay=1e300),
    ],
)
def test_backoff_fields_must_be_finite(backoff: Any) -> None:
    with pytest.raises(ValueError, match=r"Backoff\."):
        backoff()


def test_the_longest_timeout_and_backoff_are_held_to_the_calendar(
    scheduler: ManualScheduler, caplog: pytest.LogCaptureFixture
) -> None:
    run = scheduler.submit(
        raise_key_error, timeout=MAX_SECONDS, max_retries=1,
        retry_backoff=Backoff(base=MAX_SECONDS, max_delay=MAX_SECONDS, jitter=1),
    )  # fmt: skip
    scheduler.process_tasks()
    assert run.status is RunStatus.RETRYING
    assert f"retrying at {LAST.isoformat()}" in caplog.text


# -- properties: any input either works or fails at the call with ValueError/TypeError -----


@FAST
@given(
    st.sampled_from(
        ["delay", "timeout", "priority", "max_retries", "retry_backoff", "schedule_at"]
    ),
    st.one_of(anything, texts, times, st.timedeltas()),
)
def test_submit_takes_any_option(option: str, value: Any) -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    run = clean(lambda: scheduler.submit(raise_key_error, **{option: value}))
    if run is not None:
        scheduler.process_tasks()
        assert run.scheduled_at is not None and run.scheduled_at.tzinfo is not None


@pytest.mark.parametrize(
    ("timeout", "error", "text"),
    [
        (math.inf, ValueError, "timeout=inf is not a finite number"),
        (math.nan, ValueError, "timeout=nan is not a finite number"),
        (-1, ValueError, "timeout must not be negative"),
        (1e12, ValueError, "timeout=1000000000000.0 is too long a wait"),
        ("5", TypeError, "timeout must be a number"),
    ],
)
def test_waits_name_a_bad_timeout(
    scheduler: ManualScheduler, timeout: Any, error: type, text: str
) -> None:
    run = scheduler.submit(job, delay=60)
    with pytest.raises(error, match=re.escape(text)):
        scheduler.wait_for_sync(run.id, timeout=timeout)
    with pytest.raises(error, match=re.escape(text)):
        asyncio.run(scheduler.wait_for(run.id, timeout=timeout))
    with pytest.raises(error, match=re.escape(text)):
        scheduler.cancel_run(run.id).wait(timeout)
