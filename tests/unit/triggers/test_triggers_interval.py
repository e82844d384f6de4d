import math
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.triggers import IntervalTrigger, parse_interval

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")


def fires(trigger: IntervalTrigger, now: datetime, count: int) -> list[datetime]:
    result: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_trigger_time(UTC, previous, now)
        if previous is None:
            break
        result.append(previous)
    return result


def test_without_start_first_fire_is_now_plus_interval() -> None:
    assert fires(IntervalTrigger(minutes=5), NOW, 3) == [
        datetime(2025, 6, 1, 12, 5, tzinfo=UTC),
        datetime(2025, 6, 1, 12, 10, tzinfo=UTC),
        datetime(2025, 6, 1, 12, 15, tzinfo=UTC),
    ]


def test_later_fires_follow_previous() -> None:
    previous = datetime(2025, 6, 1, 12, 7, 30, tzinfo=UTC)
    result = IntervalTrigger(minutes=5).get_next_trigger_time(UTC, previous, NOW)
    assert result == datetime(2025, 6, 1, 12, 12, 30, tzinfo=UTC)


def test_start_in_future_is_first_fire() -> None:
    start = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
    assert fires(IntervalTrigger(hours=1, start_at=start), NOW, 2) == [
        start,
        start + timedelta(hours=1),
    ]


def test_start_in_past_is_phase_anchored() -> None:
    trigger = IntervalTrigger(minutes=10, start_at=datetime(2025, 6, 1, 9, 3, tzinfo=UTC))
    assert fires(trigger, NOW, 2) == [
        datetime(2025, 6, 1, 12, 3, tzinfo=UTC),
        datetime(2025, 6, 1, 12, 13, tzinfo=UTC),
    ]
    exact = datetime(2025, 6, 1, 12, 3, tzinfo=UTC)
    assert trigger.get_next_trigger_time(UTC, None, exact) == exact


def test_phase_survives_a_late_previous_time() -> None:
    trigger = IntervalTrigger(minutes=10, start_at=datetime(2025, 6, 1, 9, 3, tzinfo=UTC))
    late = datetime(2025, 6, 1, 12, 4, 59, tzinfo=UTC)
    assert trigger.get_next_trigger_time(UTC, late, late) == datetime(
        2025, 6, 1, 12, 13, tzinfo=UTC
    )


def test_skip_ahead_with_previous_equal_now() -> None:
    trigger = IntervalTrigger(minutes=10, start_at=datetime(2025, 6, 1, 9, 3, tzinfo=UTC))
    on_fire = datetime(2025, 6, 1, 12, 3, tzinfo=UTC)
    assert trigger.get_next_trigger_time(UTC, on_fire, on_fire) == on_fire + timedelta(minutes=10)
    plain = IntervalTrigger(seconds=30)
    assert plain.get_next_trigger_time(UTC, NOW, NOW) == NOW + timedelta(seconds=30)


def test_end_at_stops_the_fires() -> None:
    trigger = IntervalTrigger(hours=1, start_at=NOW, end_at=datetime(2025, 6, 1, 14, 0, tzinfo=UTC))
    assert fires(trigger, NOW, 10) == [
        NOW,
        datetime(2025, 6, 1, 13, 0, tzinfo=UTC),
        datetime(2025, 6, 1, 14, 0, tzinfo=UTC),
    ]


def test_naive_start_uses_trigger_zone_and_results_use_it() -> None:
    trigger = IntervalTrigger(hours=6, start_at=datetime(2025, 6, 1, 0, 0), timezone=BERLIN)
    result = trigger.get_next_trigger_time(UTC, None, NOW)
    assert result == datetime(2025, 6, 1, 16, 0, tzinfo=UTC)  # 18:00 CEST
    assert result is not None and result.tzinfo == BERLIN


def test_naive_start_without_zone_uses_scheduler_zone() -> None:
    trigger = IntervalTrigger(hours=6, start_at="2025-06-01T00:00:00")
    assert trigger.get_next_trigger_time(BERLIN, None, NOW) == datetime(
        2025, 6, 1, 16, 0, tzinfo=UTC
    )


def test_jitter_stays_within_bounds() -> None:
    trigger = IntervalTrigger(minutes=1, start_at=NOW, jitter=5)
    results = {trigger.get_next_trigger_time(UTC, None, NOW) for _ in range(200)}
    assert all(r is not None and NOW <= r <= NOW + timedelta(seconds=5) for r in results)
    assert len(results) > 1


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"hours": -1}, "hours"),
        ({"minutes": -0.5}, "minutes"),
        ({"seconds": "10"}, "seconds"),
        ({"weeks": True}, "weeks"),
        ({"days": math.nan}, "days"),
        ({}, "positive interval"),
        ({"seconds": 0}, "positive interval"),
        ({"seconds": 1, "jitter": -1}, "jitter"),
        ({"seconds": 1, "start_at": "garbage"}, "start_at"),
        ({"seconds": 1, "start_at": NOW, "end_at": NOW - timedelta(1)}, "end_at"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict[str, object], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        IntervalTrigger(**kwargs)  # type: ignore[arg-type]


def test_now_is_required_without_start() -> None:
    with pytest.raises(ValueError, match="now"):
        IntervalTrigger(seconds=1).get_next_trigger_time(UTC, None)


def test_repr_and_str() -> None:
    trigger = IntervalTrigger(hours=1, minutes=30, start_at=NOW, timezone="UTC", jitter=2)
    assert repr(trigger) == (
        "<IntervalTrigger (interval=datetime.timedelta(seconds=5400), "
        "start_at='2025-06-01 12:00:00 UTC', jitter=2, timezone='UTC')>"
    )
    assert str(trigger) == "interval[1:30:00]"
    assert trigger.interval_length == 5400


def test_equality() -> None:
    assert IntervalTrigger(minutes=60) == IntervalTrigger(hours=1)
    assert IntervalTrigger(minutes=60) != IntervalTrigger(hours=2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (30, timedelta(seconds=30)),
        (1.5, timedelta(seconds=1.5)),
        (timedelta(minutes=2), timedelta(minutes=2)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1d", timedelta(days=1)),
        ("2w", timedelta(weeks=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1d 2h", timedelta(days=1, hours=2)),
        ("90", timedelta(seconds=90)),
        (" 1H30M ", timedelta(hours=1, minutes=30)),
        ("2 hours, 15 minutes", timedelta(hours=2, minutes=15)),
        ("0.5h", timedelta(minutes=30)),
    ],
)
def test_parse_interval(value: object, expected: timedelta) -> None:
    assert parse_interval(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    ["invalid", "", "5x", "1h1h", "h", "1h junk", "-5m", None, True, [1], math.inf, "1e400"],
)
def test_parse_interval_rejects_junk(value: object) -> None:
    with pytest.raises(ValueError, match="interval="):
        parse_interval(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1, "0s", "0", timedelta(0), timedelta(seconds=-5)])
def test_parse_interval_rejects_non_positive(value: object) -> None:
    with pytest.raises(ValueError, match="interval must be positive"):
        parse_interval(value)  # type: ignore[arg-type]


def test_from_string() -> None:
    trigger = IntervalTrigger.from_string("1h30m", start_at=NOW)
    assert trigger == IntervalTrigger(hours=1, minutes=30, start_at=NOW)
    with pytest.raises(ValueError, match="interval='invalid'"):
        IntervalTrigger.from_string("invalid")


@pytest.mark.parametrize("zone", [UTC, BERLIN])
@pytest.mark.parametrize("trigger_zone", [None, BERLIN])
def test_next_fire_of_an_anchored_trigger_is_that_of_the_general_path(
    zone: Any, trigger_zone: Any
) -> None:
    """The fire after a fire, asked at every fire, takes a short path when the trigger is
    anchored in UTC; across a DST change it gives what the general path gives."""
    start = datetime(2025, 3, 29, 23, 50, tzinfo=UTC)  # Berlin moves its clocks at 01:00 UTC
    anchored = IntervalTrigger(minutes=25, start_at=start, timezone=trigger_zone)
    general = IntervalTrigger(  # an end far away: the general path
        minutes=25, start_at=start, end_at=start + timedelta(days=365), timezone=trigger_zone
    )
    previous = start.astimezone(zone)
    for _ in range(12):
        expected = general.get_next_trigger_time(zone, previous, previous)
        got = anchored.get_next_trigger_time(zone, previous, previous)
        assert got == expected and got is not None
        assert got.tzinfo == expected.tzinfo  # type: ignore[union-attr]
        previous = got
    assert previous == start + timedelta(minutes=25 * 12)
    with pytest.raises(ValueError, match="aware"):  # a naive now still gets its error
        anchored.get_next_trigger_time(zone, previous, datetime(2025, 3, 30))
