from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.triggers import CronTrigger

NOW = datetime(2025, 1, 1, tzinfo=UTC)  # a Wednesday
BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(trigger: CronTrigger, now: datetime = NOW, count: int = 4) -> list[datetime]:
    result: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_trigger_time(UTC, previous, now)
        if previous is None:
            break
        result.append(previous)
    return result


def test_hour_alone_fires_daily_on_the_hour() -> None:
    trigger = CronTrigger(hour=8)
    assert trigger.fields == {
        "year": "*",
        "month": "*",
        "day": "*",
        "week": "*",
        "day_of_week": "*",
        "hour": "8",
        "minute": "0",
        "second": "0",
    }
    assert fires(trigger, count=2) == [utc(2025, 1, 1, 8), utc(2025, 1, 2, 8)]


def test_defaults_fill_below_the_least_significant_given_field() -> None:
    trigger = CronTrigger(day=1, minute=30)
    assert trigger.fields["hour"] == "*"
    assert trigger.fields["second"] == "0"
    assert fires(trigger, count=3) == [
        utc(2025, 1, 1, 0, 30),
        utc(2025, 1, 1, 1, 30),
        utc(2025, 1, 1, 2, 30),
    ]
    assert CronTrigger(month=6).fields["day"] == "1"


def test_no_fields_fires_every_second() -> None:
    assert fires(CronTrigger(), count=2) == [NOW, NOW + timedelta(seconds=1)]


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        (
            {"minute": "*/20"},
            [utc(2025, 1, 1, 0, 0), utc(2025, 1, 1, 0, 20), utc(2025, 1, 1, 0, 40)],
        ),
        ({"hour": "9-17/4"}, [utc(2025, 1, 1, 9), utc(2025, 1, 1, 13), utc(2025, 1, 1, 17)]),
        ({"hour": "22/1"}, [utc(2025, 1, 1, 22), utc(2025, 1, 1, 23), utc(2025, 1, 2, 22)]),
        (
            {"hour": "1,5", "minute": 15},
            [utc(2025, 1, 1, 1, 15), utc(2025, 1, 1, 5, 15), utc(2025, 1, 2, 1, 15)],
        ),
        (
            {"day_of_week": "mon-fri", "hour": 7},
            [utc(2025, 1, 1, 7), utc(2025, 1, 2, 7), utc(2025, 1, 3, 7)],
        ),
        ({"day_of_week": "sat,sun"}, [utc(2025, 1, 4), utc(2025, 1, 5), utc(2025, 1, 11)]),
        ({"day_of_week": 0}, [utc(2025, 1, 6), utc(2025, 1, 13), utc(2025, 1, 20)]),
        ({"month": "feb-mar", "day": 1}, [utc(2025, 2, 1), utc(2025, 3, 1), utc(2026, 2, 1)]),
        ({"day": "last"}, [utc(2025, 1, 31), utc(2025, 2, 28), utc(2025, 3, 31)]),
        ({"day": "L", "month": 2}, [utc(2025, 2, 28), utc(2026, 2, 28), utc(2027, 2, 28)]),
        ({"day": "last fri"}, [utc(2025, 1, 31), utc(2025, 2, 28), utc(2025, 3, 28)]),
        ({"day": "1st mon"}, [utc(2025, 1, 6), utc(2025, 2, 3), utc(2025, 3, 3)]),
        ({"day": "3rd wed,last"}, [utc(2025, 1, 15), utc(2025, 1, 31), utc(2025, 2, 19)]),
        ({"day": "5th sat"}, [utc(2025, 3, 29), utc(2025, 5, 31), utc(2025, 8, 30)]),
        ({"day": 31}, [utc(2025, 1, 31), utc(2025, 3, 31), utc(2025, 5, 31)]),
        ({"month": 2, "day": 29}, [utc(2028, 2, 29), utc(2032, 2, 29), utc(2036, 2, 29)]),
        ({"week": 53}, [utc(2026, 12, 28), utc(2026, 12, 29), utc(2026, 12, 30)]),
        ({"week": 1, "day_of_week": "mon"}, [utc(2025, 12, 29), utc(2027, 1, 4), utc(2028, 1, 3)]),
        ({"year": "2027-2028", "month": 1, "day": 1}, [utc(2027, 1, 1), utc(2028, 1, 1)]),
        (
            {"year": "*/5", "month": 1, "day": 1},
            [utc(2025, 1, 1), utc(2030, 1, 1), utc(2035, 1, 1)],
        ),
        (
            {"second": "*/30", "minute": 0, "hour": 0},
            [utc(2025, 1, 1), utc(2025, 1, 1, 0, 0, 30), utc(2025, 1, 2)],
        ),
    ],
)
def test_expressions(kwargs: dict[str, object], expected: list[datetime]) -> None:
    assert fires(CronTrigger(**kwargs), count=3) == expected  # type: ignore[arg-type]


def test_day_and_day_of_week_both_must_match() -> None:
    # The 13th that is a Friday: 2025-06-13, 2026-02-13, 2026-03-13.
    assert fires(CronTrigger(day=13, day_of_week="fri"), count=3) == [
        utc(2025, 6, 13),
        utc(2026, 2, 13),
        utc(2026, 3, 13),
    ]


def test_day_or_matches_either() -> None:
    trigger = CronTrigger(day=13, day_of_week="fri", hour=0, day_or=True)
    assert fires(trigger, count=3) == [utc(2025, 1, 3), utc(2025, 1, 10), utc(2025, 1, 13)]


def test_impossible_schedules_end() -> None:
    assert fires(CronTrigger(month=2, day=30)) == []
    assert fires(CronTrigger(week=53, month=6)) == []
    assert fires(CronTrigger(year=2024)) == []


def test_far_year() -> None:
    assert fires(CronTrigger(year=9999, month=12, day=31, hour=23, minute=59, second=59)) == [
        utc(9999, 12, 31, 23, 59, 59)
    ]


def test_first_fire_includes_now_and_previous_excludes_it() -> None:
    trigger = CronTrigger(minute="*/5")
    on_match = utc(2025, 1, 1, 10, 5)
    assert trigger.get_next_trigger_time(UTC, None, on_match) == on_match
    assert trigger.get_next_trigger_time(UTC, on_match, on_match) == utc(2025, 1, 1, 10, 10)
    late = on_match + timedelta(microseconds=1)
    assert trigger.get_next_trigger_time(UTC, None, late) == utc(2025, 1, 1, 10, 10)
    assert trigger.get_next_trigger_time(UTC, late, late) == utc(2025, 1, 1, 10, 10)


def test_start_and_end() -> None:
    trigger = CronTrigger(hour=12, start_at=utc(2025, 3, 1, 12), end_at=utc(2025, 3, 3, 12))
    assert fires(trigger, count=5) == [
        utc(2025, 3, 1, 12),
        utc(2025, 3, 2, 12),
        utc(2025, 3, 3, 12),
    ]
    previous_before_start = utc(2025, 1, 1, 12)
    assert trigger.get_next_trigger_time(UTC, previous_before_start, NOW) == utc(2025, 3, 1, 12)


def test_trigger_zone_overrides_scheduler_zone() -> None:
    trigger = CronTrigger(hour=8, timezone="Europe/Berlin")
    result = trigger.get_next_trigger_time(UTC, None, NOW)
    assert result == utc(2025, 1, 1, 7)
    assert result is not None and result.tzinfo == BERLIN
    assert CronTrigger(hour=8).get_next_trigger_time(BERLIN, None, NOW) == utc(2025, 1, 1, 7)


def test_jitter_within_bounds() -> None:
    trigger = CronTrigger(hour=8, jitter=10)
    results = {trigger.get_next_trigger_time(UTC, None, NOW) for _ in range(100)}
    assert all(
        r is not None and utc(2025, 1, 1, 8) <= r <= utc(2025, 1, 1, 8, 0, 10) for r in results
    )
    assert len(results) > 1


def test_case_and_spaces_are_ignored() -> None:
    assert (
        CronTrigger(day_of_week=" MON - FRI ".replace(" ", "")).fields["day_of_week"] == "MON-FRI"
    )
    assert fires(CronTrigger(day="Last  FRI", hour=0), count=1) == [utc(2025, 1, 31)]
    assert fires(CronTrigger(hour=" 1 , 2 "), count=2) == [utc(2025, 1, 1, 1), utc(2025, 1, 1, 2)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hour": 24}, "hour"),
        ({"minute": "60"}, "minute"),
        ({"second": "-1"}, "second"),
        ({"day": 0}, "day"),
        ({"day": "32"}, "day"),
        ({"day": "6th mon"}, "day"),
        ({"day": "last xyz"}, "day"),
        ({"month": "13"}, "month"),
        ({"month": "foo"}, "month"),
        ({"day_of_week": "7"}, "day_of_week"),
        ({"day_of_week": "funday"}, "day_of_week"),
        ({"week": 54}, "week"),
        ({"year": 1969}, "year"),
        ({"hour": "5-3"}, "hour"),
        ({"minute": "*/0"}, "minute"),
        ({"minute": "1,,2"}, "minute"),
        ({"minute": "*-5"}, "minute"),
        ({"hour": "last"}, "hour"),
        ({"hour": 1.5}, "hour"),
        ({"hour": True}, "hour"),
    ],
)
def test_bad_fields_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=f"Invalid {field} expression"):
        CronTrigger(**kwargs)  # type: ignore[arg-type]


def test_other_bad_arguments() -> None:
    with pytest.raises(ValueError, match="jitter"):
        CronTrigger(hour=1, jitter=-1)
    with pytest.raises(ValueError, match="end_at"):
        CronTrigger(hour=1, start_at=utc(2025, 2, 1), end_at=utc(2025, 1, 1))
    with pytest.raises(ValueError, match="now"):
        CronTrigger(hour=1).get_next_trigger_time(UTC, None)
    with pytest.raises(ValueError, match="previous_time must be timezone-aware"):
        CronTrigger(hour=1).get_next_trigger_time(UTC, datetime(2025, 1, 1), NOW)


def test_repr_and_str() -> None:
    trigger = CronTrigger(hour=8, minute=0, timezone="Europe/Berlin")
    assert repr(trigger) == "<CronTrigger (hour='8', minute='0', timezone='Europe/Berlin')>"
    assert str(trigger) == "cron[hour='8', minute='0']"
    full = CronTrigger(day_of_week="mon", start_at=NOW, jitter=3, day_or=True)
    assert repr(full) == (
        "<CronTrigger (day_of_week='mon', start_at='2025-01-01 00:00:00 UTC', "
        "jitter='3', timezone='UTC', day_or=True)>"  # the zone of start_at, as asyncz
    )


def test_equality() -> None:
    assert CronTrigger(hour=8) == CronTrigger(hour="8", minute=0)
    assert CronTrigger(hour=8) != CronTrigger(hour=8, timezone="UTC")
    assert len({CronTrigger(hour=8), CronTrigger(hour="8")}) == 1
