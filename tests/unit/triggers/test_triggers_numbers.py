"""Bad numbers, times and strings given to triggers fail where they are given (issue #22)."""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from asyncz_like.limits import FIRST, LAST, MAX_DURATION
from asyncz_like.triggers import (
    AndTrigger,
    BaseTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
    parse_interval,
)
from tests.unit.numbers import FAST, anything, clean, durations, nows, texts, times, zones

NOW = datetime(2026, 1, 5, 12, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"hours": math.inf}, "hours=inf is not a finite number"),
        ({"hours": -math.inf}, "hours=-inf is not a finite number"),
        ({"minutes": math.nan}, "minutes=nan is not a finite number"),
        ({"hours": 10**11}, "hours=100000000000 is longer than the calendar"),
        ({"days": 2**63}, "days=9223372036854775808 is longer than the calendar"),
        ({"weeks": 1e6}, "weeks=1000000.0 is longer than the calendar"),
        ({"seconds": 10**400}, "is longer than the calendar"),
        ({"weeks": 500_000, "days": 3_000_000}, "interval=6500000 days, 0:00:00 is longer"),
        ({"days": 1, "jitter": 10**30}, "jitter=1000000000000000000000000000000 is longer"),
        ({"days": 1, "jitter": math.inf}, "jitter=inf is not a finite number"),
        ({"days": 1, "jitter": math.nan}, "jitter=nan is not a finite number"),
    ],
)
def test_interval_amounts_that_cannot_be_a_duration_are_named(
    kwargs: dict[str, Any], text: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        IntervalTrigger(**kwargs)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CronTrigger(jitter=math.inf),
        lambda: CronTrigger(hour=1, jitter=math.nan),
        lambda: CronTrigger(hour=1, jitter=10**30),
        lambda: CronTrigger.from_crontab("* * * * *", jitter=math.inf),
        lambda: AndTrigger([CronTrigger(hour=1)], jitter=math.inf),
        lambda: OrTrigger([CronTrigger(hour=1)], jitter=math.nan),
    ],
)
def test_jitter_must_be_finite_and_within_the_calendar(make: Any) -> None:
    with pytest.raises(ValueError, match="jitter="):
        make()


def test_a_huge_jitter_never_pushes_a_fire_past_the_calendar() -> None:
    trigger = IntervalTrigger(days=1, jitter=3e11)  # within bounds: about 9500 years
    for _ in range(20):
        fire = trigger.get_next_trigger_time(UTC, None, NOW)
        assert fire is not None and NOW + timedelta(days=1) <= fire <= LAST


def test_an_interval_whose_first_fire_is_past_the_calendar_has_none() -> None:
    trigger = IntervalTrigger(weeks=500_000)  # about 9600 years: a duration, but not from now
    assert trigger.get_next_trigger_time(UTC, None, NOW) is None
    assert trigger.get_next_trigger_time(NEW_YORK, None, NOW) is None


@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Asia/Tokyo"), NEW_YORK])
def test_the_fire_after_the_last_one_of_the_calendar_is_none(zone: Any) -> None:
    start = datetime(9999, 12, 30, 22, tzinfo=UTC)
    trigger = IntervalTrigger(hours=1, start_at=start)
    fire = trigger.get_next_trigger_time(zone, None, start)
    assert fire == start
    assert trigger.get_next_trigger_time(zone, fire, start) == start + timedelta(hours=1)
    assert trigger.get_next_trigger_time(zone, start + timedelta(hours=1), start) is None
    assert trigger.anchored(start).get_next_trigger_time(zone, LAST, LAST) is None


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: DateTrigger(run_at=datetime.max), "run_at"),
        (lambda: DateTrigger(run_at=datetime.max.replace(tzinfo=UTC)), "run_at"),
        (lambda: DateTrigger(run_at=datetime.min, timezone="Europe/Berlin"), "run_at"),
        (lambda: DateTrigger("9999-12-31T23:59:59", timezone="America/New_York"), "run_at"),
        (lambda: DateTrigger(run_at="0001-01-01T00:00:00+00:00"), "run_at"),
        (lambda: IntervalTrigger(hours=1, start_at=datetime.max, timezone="UTC"), "start_at"),
        (lambda: IntervalTrigger(hours=1, end_at=datetime.min.replace(tzinfo=UTC)), "end_at"),
        (lambda: CronTrigger(hour=1, start_at=datetime.min, timezone="Asia/Tokyo"), "start_at"),
        (lambda: CronTrigger(hour=1, end_at="9999-12-31"), "end_at"),
    ],
)
def test_times_outside_the_calendar_are_named(make: Any, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name}=.* is outside the supported range"):
        make()


def test_times_at_the_ends_of_the_calendar_are_taken() -> None:
    last = datetime(9999, 12, 30, 23, 59, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    assert DateTrigger(run_at=last).get_next_trigger_time(tokyo, None, NOW) == last
    first = datetime(1, 1, 2, tzinfo=UTC)
    assert DateTrigger(run_at=first).get_next_trigger_time(NEW_YORK, None, first) == first


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        (10, timedelta(seconds=10)),
        (2.5, timedelta(seconds=2.5)),
        (MAX_DURATION, MAX_DURATION),
    ],
)
def test_parse_interval_takes_durations(value: Any, expected: timedelta) -> None:
    assert parse_interval(value) == expected


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (-1, "interval must be positive"),
        (0, "interval must be positive"),
        (math.inf, "interval=inf is not a finite number"),
        (-math.inf, "interval=-inf is not a finite number"),
        (math.nan, "interval=nan is not a finite number"),
        (10**400, "is longer than the calendar"),
        (10**12, "interval=1000000000000 is longer than the calendar"),
        ("1" + "0" * 400 + "s", "is not a finite number"),
        ("600000w", "interval='600000w' is longer than the calendar"),
        (timedelta.max, "is longer than the calendar"),
    ],
)
def test_parse_interval_names_what_it_cannot_take(value: Any, text: str) -> None:
    with pytest.raises(ValueError, match=re.escape(text)):
        parse_interval(value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CronTrigger(second=10**30),
        lambda: CronTrigger(year=10**30),
        lambda: CronTrigger(hour="1-" + "9" * 40),
        lambda: CronTrigger.from_crontab("9" * 30 + " * * * *"),
    ],
)
def test_cron_fields_out_of_range_are_value_errors(make: Any) -> None:
    with pytest.raises(ValueError, match="higher than the maximum value"):
        make()


# -- properties: any input either works or fails at the call with ValueError/TypeError -----


def check_fires(trigger: BaseTrigger, zone: Any, now: datetime) -> None:
    """A trigger that was made gives aware fires (or None), each later than the one before."""
    previous = None
    for _ in range(3):
        fire = trigger.get_next_trigger_time(zone or UTC, previous, now)
        if fire is None:
            return
        assert fire.tzinfo is not None and fire.utcoffset() is not None
        assert previous is None or fire > previous
        fire.astimezone(UTC)  # an instant every zone can show
        previous = fire


units = st.sampled_from(["weeks", "days", "hours", "minutes", "seconds"])


@FAST
@given(units, anything, st.one_of(st.none(), anything), zones, nows)
def test_interval_trigger_takes_any_number(
    unit: str, amount: Any, jitter: Any, zone: Any, now: datetime
) -> None:
    trigger = clean(lambda: IntervalTrigger(**{unit: amount}, jitter=jitter, timezone=zone))
    if trigger is not None:
        check_fires(trigger, zone, now)
        check_fires(trigger.anchored(now), zone, now)


@FAST
@given(units, st.one_of(anything, st.integers(min_value=1, max_value=10**9)), times, zones, nows)
def test_interval_trigger_takes_any_start(
    unit: str, amount: Any, start: datetime, zone: Any, now: datetime
) -> None:
    trigger = clean(lambda: IntervalTrigger(**{unit: amount}, start_at=start, timezone=zone))
    if trigger is not None:
        check_fires(trigger, zone, now)
        check_fires(trigger, None, now)


@FAST
@given(st.one_of(anything, texts, times), zones, nows)
def test_date_trigger_takes_any_time(run_at: Any, zone: Any, now: datetime) -> None:
    trigger = clean(lambda: DateTrigger(run_at=run_at, timezone=zone))
    if trigger is not None:
        check_fires(trigger, zone, now)
        check_fires(trigger, "Pacific/Kiritimati", now)


@FAST
@given(
    st.sampled_from(["year", "month", "day", "week", "day_of_week", "hour", "minute", "second"]),
    st.one_of(anything, texts),
    st.one_of(st.none(), anything),
    st.one_of(st.none(), times),
    zones,
    nows,
)
def test_cron_trigger_takes_any_field_jitter_and_start(
    field: str, value: Any, jitter: Any, start: Any, zone: Any, now: datetime
) -> None:
    trigger = clean(
        lambda: CronTrigger(**{field: value}, jitter=jitter, start_at=start, timezone=zone)
    )
    if trigger is not None:
        check_fires(trigger, zone, now)


@FAST
@given(st.one_of(texts, anything), st.one_of(st.none(), anything), zones)
def test_from_crontab_takes_any_text(expr: Any, jitter: Any, zone: Any) -> None:
    trigger = clean(lambda: CronTrigger.from_crontab(expr, timezone=zone, jitter=jitter))
    if trigger is not None:
        check_fires(trigger, zone, NOW)


@FAST
@given(st.one_of(anything, texts, durations))
def test_parse_interval_takes_anything(value: Any) -> None:
    duration = clean(lambda: parse_interval(value))
    if duration is not None:
        assert timedelta(0) < duration <= MAX_DURATION
        assert FIRST + duration <= LAST  # a duration the calendar can hold


@pytest.mark.parametrize("interval", [1e30, math.inf, math.nan, timedelta.max, -5, 0, timedelta(0)])
def test_a_stored_interval_out_of_range_is_a_value_error(interval: Any) -> None:
    state = {**IntervalTrigger(hours=1).__getstate__(), "interval": interval}
    trigger = IntervalTrigger.__new__(IntervalTrigger)
    with pytest.raises(ValueError, match="interval in trigger state"):
        trigger.__setstate__(state)
