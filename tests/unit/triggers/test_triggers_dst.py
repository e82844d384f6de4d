"""The DST policy, with every expected instant written out in UTC.

Transitions used (2025):
* Europe/Berlin: 30 Mar 02:00 CET -> 03:00 CEST (01:00Z); 26 Oct 03:00 CEST -> 02:00 CET (01:00Z).
* America/New_York: 9 Mar 02:00 EST -> 03:00 EDT (07:00Z); 2 Nov 02:00 EDT -> 01:00 EST (06:00Z).
* Australia/Lord_Howe (30-minute shift): 6 Apr 02:00 +11 -> 01:30 +10:30 (15:00Z on 5 Apr);
  5 Oct 02:00 +10:30 -> 02:30 +11 (15:30Z on 4 Oct).
"""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytz
from dateutil import tz as dateutil_tz

from asyncz_like.triggers import CronTrigger, DateTrigger, IntervalTrigger
from asyncz_like.triggers.base import BaseTrigger

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def z(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(trigger: BaseTrigger, zone: tzinfo | str, now: datetime, count: int) -> list[datetime]:
    result: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_trigger_time(zone, previous, now)  # type: ignore[arg-type]
        if previous is None:
            break
        result.append(previous)
    return result


def utc_fires(
    trigger: BaseTrigger, zone: tzinfo | str, now: datetime, count: int
) -> list[datetime]:
    return [value.astimezone(UTC) for value in fires(trigger, zone, now, count)]


CASES = [
    # Berlin spring: 02:30 does not exist -> 03:00 CEST; the days around keep 02:30.
    (
        BERLIN,
        {"hour": 2, "minute": 30},
        z(2025, 3, 28, 12),
        [z(2025, 3, 29, 1, 30), z(2025, 3, 30, 1), z(2025, 3, 31, 0, 30)],
    ),
    # Berlin autumn: 02:30 exists twice -> first (CEST) only.
    (
        BERLIN,
        {"hour": 2, "minute": 30},
        z(2025, 10, 24, 12),
        [z(2025, 10, 25, 0, 30), z(2025, 10, 26, 0, 30), z(2025, 10, 27, 1, 30)],
    ),
    # Berlin hourly: the 02:00 of spring collapses with 03:00; the repeated 02:00 fires once.
    (
        BERLIN,
        {"minute": 0},
        z(2025, 3, 29, 22, 30),
        [z(2025, 3, 29, 23), z(2025, 3, 30, 0), z(2025, 3, 30, 1), z(2025, 3, 30, 2)],
    ),
    (
        BERLIN,
        {"minute": 0},
        z(2025, 10, 25, 21, 30),
        [z(2025, 10, 25, 22), z(2025, 10, 25, 23), z(2025, 10, 26, 0), z(2025, 10, 26, 2)],
    ),
    # Berlin minutely and every 15 minutes across both transitions.
    (
        BERLIN,
        {"minute": "*"},
        z(2025, 3, 30, 0, 58),
        [z(2025, 3, 30, 0, 58), z(2025, 3, 30, 0, 59), z(2025, 3, 30, 1, 0), z(2025, 3, 30, 1, 1)],
    ),
    (
        BERLIN,
        {"minute": "*"},
        z(2025, 10, 26, 0, 58),
        [
            z(2025, 10, 26, 0, 58),
            z(2025, 10, 26, 0, 59),
            z(2025, 10, 26, 2, 0),
            z(2025, 10, 26, 2, 1),
        ],
    ),
    (
        BERLIN,
        {"minute": "*/15"},
        z(2025, 3, 30, 0, 40),
        [z(2025, 3, 30, 0, 45), z(2025, 3, 30, 1, 0), z(2025, 3, 30, 1, 15)],
    ),
    # New York.
    (
        NEW_YORK,
        {"hour": 2, "minute": 30},
        z(2025, 3, 8, 5),
        [z(2025, 3, 8, 7, 30), z(2025, 3, 9, 7), z(2025, 3, 10, 6, 30)],
    ),
    (
        NEW_YORK,
        {"hour": 1, "minute": 30},
        z(2025, 11, 1, 4),
        [z(2025, 11, 1, 5, 30), z(2025, 11, 2, 5, 30), z(2025, 11, 3, 6, 30)],
    ),
    (
        NEW_YORK,
        {"minute": 0},
        z(2025, 3, 9, 5, 30),
        [z(2025, 3, 9, 6), z(2025, 3, 9, 7), z(2025, 3, 9, 8)],
    ),
    (
        NEW_YORK,
        {"minute": 0},
        z(2025, 11, 2, 3, 30),
        [z(2025, 11, 2, 4), z(2025, 11, 2, 5), z(2025, 11, 2, 7), z(2025, 11, 2, 8)],
    ),
    # Lord Howe: a 30-minute gap (02:00-02:30) and a 30-minute fold (01:30-02:00).
    (
        LORD_HOWE,
        {"hour": 2, "minute": 15},
        z(2025, 10, 3, 12),
        [z(2025, 10, 3, 15, 45), z(2025, 10, 4, 15, 30), z(2025, 10, 5, 15, 15)],
    ),
    (
        LORD_HOWE,
        {"minute": "*"},
        z(2025, 10, 4, 15, 28),
        [
            z(2025, 10, 4, 15, 28),
            z(2025, 10, 4, 15, 29),
            z(2025, 10, 4, 15, 30),
            z(2025, 10, 4, 15, 31),
        ],
    ),
    (
        LORD_HOWE,
        {"minute": 0},
        z(2025, 10, 4, 14),
        [z(2025, 10, 4, 14, 30), z(2025, 10, 4, 15, 30), z(2025, 10, 4, 16)],
    ),
    (
        LORD_HOWE,
        {"hour": 1, "minute": 45},
        z(2025, 4, 5, 2),
        [z(2025, 4, 5, 14, 45), z(2025, 4, 6, 15, 15)],
    ),
    (
        LORD_HOWE,
        {"minute": "*"},
        z(2025, 4, 5, 14, 58),
        [z(2025, 4, 5, 14, 58), z(2025, 4, 5, 14, 59), z(2025, 4, 5, 15, 30)],
    ),
    (
        LORD_HOWE,
        {"minute": 0},
        z(2025, 4, 5, 13, 30),
        [z(2025, 4, 5, 14), z(2025, 4, 5, 15, 30), z(2025, 4, 5, 16, 30)],
    ),
]


@pytest.mark.parametrize(("zone", "fields", "now", "expected"), CASES)
def test_cron_across_transitions(
    zone: ZoneInfo, fields: dict[str, object], now: datetime, expected: list[datetime]
) -> None:
    trigger = CronTrigger(**fields)  # type: ignore[arg-type]
    assert utc_fires(trigger, zone, now, len(expected)) == expected


def test_cron_results_carry_the_right_offset() -> None:
    result = fires(CronTrigger(hour=2, minute=30), BERLIN, z(2025, 10, 25, 12), 1)[0]
    assert (result.replace(tzinfo=None), result.utcoffset()) == (
        datetime(2025, 10, 26, 2, 30),
        timedelta(hours=2),
    )
    gap = fires(CronTrigger(hour=2, minute=30), BERLIN, z(2025, 3, 29, 12), 1)[0]
    assert (gap.replace(tzinfo=None), gap.utcoffset()) == (
        datetime(2025, 3, 30, 3, 0),
        timedelta(hours=2),
    )


def test_secondly_cron_across_the_gap_fires_once_at_its_end() -> None:
    trigger = CronTrigger(second="*")
    expected = [
        z(2025, 3, 30, 0, 59, 58),
        z(2025, 3, 30, 0, 59, 59),
        z(2025, 3, 30, 1),
        z(2025, 3, 30, 1, 0, 1),
    ]
    assert utc_fires(trigger, BERLIN, z(2025, 3, 30, 0, 59, 58), 4) == expected


@pytest.mark.parametrize("now", [z(2025, 10, 26, 1, 0, 1), z(2025, 10, 26, 1, 59, 59)])
def test_start_inside_the_second_pass_of_a_fold_waits_for_its_end(now: datetime) -> None:
    # 02:xx CET has already fired as 02:xx CEST; the next wall times are 03:00 CET and on.
    for fields, expected in [
        ({"second": "*"}, z(2025, 10, 26, 2)),
        ({"minute": "*"}, z(2025, 10, 26, 2)),
        ({"minute": 30}, z(2025, 10, 26, 2, 30)),
    ]:
        trigger = CronTrigger(**fields)  # type: ignore[arg-type]
        assert utc_fires(trigger, BERLIN, now, 1) == [expected]
        skipped = trigger.get_next_trigger_time(BERLIN, now, now)
        assert skipped is not None and skipped.astimezone(UTC) == expected


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        (
            BERLIN,
            z(2025, 3, 29, 23, 30),
            [z(2025, 3, 30, 0, 30), z(2025, 3, 30, 1, 30), z(2025, 3, 30, 2, 30)],
        ),
        (
            BERLIN,
            z(2025, 10, 25, 23, 30),
            [z(2025, 10, 26, 0, 30), z(2025, 10, 26, 1, 30), z(2025, 10, 26, 2, 30)],
        ),
        (
            NEW_YORK,
            z(2025, 3, 9, 5, 30),
            [z(2025, 3, 9, 6, 30), z(2025, 3, 9, 7, 30), z(2025, 3, 9, 8, 30)],
        ),
        (
            NEW_YORK,
            z(2025, 11, 2, 4, 30),
            [z(2025, 11, 2, 5, 30), z(2025, 11, 2, 6, 30), z(2025, 11, 2, 7, 30)],
        ),
        (LORD_HOWE, z(2025, 4, 5, 13), [z(2025, 4, 5, 14), z(2025, 4, 5, 15), z(2025, 4, 5, 16)]),
        (
            LORD_HOWE,
            z(2025, 10, 4, 14),
            [z(2025, 10, 4, 15), z(2025, 10, 4, 16), z(2025, 10, 4, 17)],
        ),
    ],
)
def test_hourly_interval_keeps_3600_seconds(
    zone: ZoneInfo, now: datetime, expected: list[datetime]
) -> None:
    result = fires(IntervalTrigger(hours=1), zone, now, 3)
    assert [value.astimezone(UTC) for value in result] == expected
    assert all(value.tzinfo is zone for value in result)


def test_hourly_interval_in_the_fold_has_both_offsets() -> None:
    start = datetime(2025, 10, 26, 1, 30, tzinfo=BERLIN)
    walls = [
        (value.hour, value.utcoffset())
        for value in fires(IntervalTrigger(hours=1, start_at=start), BERLIN, start, 3)
    ]
    assert walls == [(1, timedelta(hours=2)), (2, timedelta(hours=2)), (2, timedelta(hours=1))]


def test_daily_interval_keeps_elapsed_time_not_wall_time() -> None:
    start = datetime(2025, 3, 29, 8, 0)  # naive, placed in the zone: 07:00Z
    trigger = IntervalTrigger(days=1, start_at=start, timezone="Europe/Berlin")
    result = fires(trigger, UTC, z(2025, 3, 29), 2)
    assert [value.astimezone(UTC) for value in result] == [z(2025, 3, 29, 7), z(2025, 3, 30, 7)]
    assert result[1].hour == 9  # 24 h later is 09:00 CEST


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        (datetime(2025, 3, 30, 2, 30), z(2025, 3, 30, 1)),  # gap -> 03:00 CEST
        (datetime(2025, 10, 26, 2, 30), z(2025, 10, 26, 0, 30)),  # fold -> first (CEST)
        (datetime(2025, 10, 26, 3, 30), z(2025, 10, 26, 2, 30)),
    ],
)
def test_date_trigger_naive_wall_times(wall: datetime, expected: datetime) -> None:
    assert utc_fires(DateTrigger(wall, timezone=BERLIN), UTC, z(2025, 1, 1), 1) == [expected]
    assert utc_fires(DateTrigger(wall), BERLIN, z(2025, 1, 1), 1) == [expected]


def test_naive_start_at_in_a_gap_moves_to_its_end() -> None:
    trigger = IntervalTrigger(hours=1, start_at=datetime(2025, 3, 30, 2, 30), timezone=BERLIN)
    assert trigger.start_at == z(2025, 3, 30, 1)


ZONE_FLAVOURS: dict[str, Callable[[str], Any]] = {
    "zoneinfo": ZoneInfo,
    "name": str,
    "pytz": pytz.timezone,
    "dateutil": dateutil_tz.gettz,
}


@pytest.mark.parametrize("flavour", ZONE_FLAVOURS)
@pytest.mark.parametrize(("zone", "fields", "now", "expected"), CASES[:7] + CASES[11:])
def test_zone_flavours_agree(
    flavour: str, zone: ZoneInfo, fields: dict[str, object], now: datetime, expected: list[datetime]
) -> None:
    made = ZONE_FLAVOURS[flavour](zone.key)
    as_argument = CronTrigger(**fields)  # type: ignore[arg-type]
    own = CronTrigger(**fields, timezone=made)  # type: ignore[arg-type]
    assert utc_fires(as_argument, made, now, len(expected)) == expected
    assert utc_fires(own, UTC, now, len(expected)) == expected


@pytest.mark.parametrize("flavour", ZONE_FLAVOURS)
def test_zone_flavours_agree_for_intervals_and_dates(flavour: str) -> None:
    made = ZONE_FLAVOURS[flavour]("Europe/Berlin")
    interval = IntervalTrigger(hours=1, start_at=datetime(2025, 10, 26, 1, 0), timezone=made)
    assert utc_fires(interval, UTC, z(2025, 10, 25), 3) == [
        z(2025, 10, 25, 23),
        z(2025, 10, 26),
        z(2025, 10, 26, 1),
    ]
    date = DateTrigger(datetime(2025, 3, 30, 2, 30), timezone=made)
    assert utc_fires(date, UTC, z(2025, 1, 1), 1) == [z(2025, 3, 30, 1)]


def test_a_whole_missing_day_fires_once_at_its_end() -> None:
    # Samoa skipped 30 Dec 2011: 29 Dec 23:59:59 -10:00 was followed by 31 Dec 00:00 +14:00.
    apia = ZoneInfo("Pacific/Apia")
    assert utc_fires(CronTrigger(hour=12), apia, datetime(2011, 12, 29, tzinfo=apia), 3) == [
        z(2011, 12, 29, 22),
        z(2011, 12, 30, 10),
        z(2011, 12, 30, 22),
    ]


def test_pytz_localized_times_keep_their_instant_in_the_fold() -> None:
    berlin = pytz.timezone("Europe/Berlin")
    second_pass = berlin.localize(datetime(2025, 10, 26, 2, 30), is_dst=False)  # 01:30Z
    trigger = IntervalTrigger(hours=1, start_at=second_pass)
    assert utc_fires(trigger, UTC, z(2025, 10, 26), 2) == [
        z(2025, 10, 26, 1, 30),
        z(2025, 10, 26, 2, 30),
    ]
    assert utc_fires(DateTrigger(second_pass), UTC, z(2025, 1, 1), 1) == [z(2025, 10, 26, 1, 30)]
