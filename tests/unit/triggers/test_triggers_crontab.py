from datetime import UTC, datetime

import pytest

from asyncz_like.triggers import CronTrigger

NOW = datetime(2025, 1, 1, tzinfo=UTC)  # a Wednesday


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(trigger: CronTrigger, count: int = 3) -> list[datetime]:
    result: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_trigger_time(UTC, previous, NOW)
        if previous is None:
            break
        result.append(previous)
    return result


def test_nightly() -> None:
    trigger = CronTrigger.from_crontab("0 2 * * *", timezone="UTC")
    assert repr(trigger) == (
        "<CronTrigger (month='*', day='*', day_of_week='*', hour='2', minute='0', timezone='UTC')>"
    )
    assert fires(trigger, 2) == [utc(2025, 1, 1, 2), utc(2025, 1, 2, 2)]


@pytest.mark.parametrize(
    ("day_of_week", "ours"),
    [
        ("0", "sun"),
        ("7", "sun"),
        ("1", "mon"),
        ("6", "sat"),
        ("1-5", "mon-fri"),
        ("5-7", "fri-sun"),
        ("0-2", "mon,tue,sun"),
        ("0-6", "*"),
        ("sun,sat", "sat,sun"),
        ("MON-WED", "mon-wed"),
        ("*/2", "tue,thu,sat,sun"),
        ("1/3", "mon,thu,sun"),
        ("*", "*"),
    ],
)
def test_weekdays_count_from_sunday(day_of_week: str, ours: str) -> None:
    trigger = CronTrigger.from_crontab(f"0 0 * * {day_of_week}")
    assert trigger.fields["day_of_week"] == ours


def test_sunday_fires_on_sunday() -> None:
    assert fires(CronTrigger.from_crontab("30 6 * * 0")) == [
        utc(2025, 1, 5, 6, 30),
        utc(2025, 1, 12, 6, 30),
        utc(2025, 1, 19, 6, 30),
    ]


def test_restricted_day_and_weekday_match_either() -> None:
    trigger = CronTrigger.from_crontab("0 0 13 * 5")
    assert trigger.day_or
    assert fires(trigger) == [utc(2025, 1, 3), utc(2025, 1, 10), utc(2025, 1, 13)]


def test_star_prefixed_day_field_means_and_as_in_vixie_cron() -> None:
    trigger = CronTrigger.from_crontab("0 0 */2 * 1")  # odd days that are Mondays
    assert not trigger.day_or
    assert fires(trigger) == [utc(2025, 1, 13), utc(2025, 1, 27), utc(2025, 2, 3)]


def test_full_day_range_with_weekday_is_every_day() -> None:
    assert fires(CronTrigger.from_crontab("0 0 1-31 * 1")) == [
        utc(2025, 1, 1),
        utc(2025, 1, 2),
        utc(2025, 1, 3),
    ]


@pytest.mark.parametrize(
    ("macro", "expected"),
    [
        ("@yearly", [utc(2025, 1, 1), utc(2026, 1, 1)]),
        ("@annually", [utc(2025, 1, 1), utc(2026, 1, 1)]),
        ("@monthly", [utc(2025, 1, 1), utc(2025, 2, 1)]),
        ("@weekly", [utc(2025, 1, 5), utc(2025, 1, 12)]),
        ("@daily", [utc(2025, 1, 1), utc(2025, 1, 2)]),
        ("@midnight", [utc(2025, 1, 1), utc(2025, 1, 2)]),
        ("@HOURLY", [utc(2025, 1, 1, 0), utc(2025, 1, 1, 1)]),
    ],
)
def test_macros(macro: str, expected: list[datetime]) -> None:
    assert fires(CronTrigger.from_crontab(macro), 2) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("0 0 L * *", [utc(2025, 1, 31), utc(2025, 2, 28), utc(2025, 3, 31)]),
        ("0 0 * * 5L", [utc(2025, 1, 31), utc(2025, 2, 28), utc(2025, 3, 28)]),
        ("0 0 * * 5#3", [utc(2025, 1, 17), utc(2025, 2, 21), utc(2025, 3, 21)]),
        ("0 0 * * fri#1,5L", [utc(2025, 1, 3), utc(2025, 1, 31), utc(2025, 2, 7)]),
        ("0 0 2 * 5L", [utc(2025, 1, 2), utc(2025, 1, 31), utc(2025, 2, 2)]),
        ("0 0 * * 1,5L", [utc(2025, 1, 6), utc(2025, 1, 13), utc(2025, 1, 20)]),
        ("0 0 * * 7#1", [utc(2025, 1, 5), utc(2025, 2, 2), utc(2025, 3, 2)]),
    ],
)
def test_last_and_nth_extensions(expr: str, expected: list[datetime]) -> None:
    assert fires(CronTrigger.from_crontab(expr)) == expected


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("0 2 * *", "expected 5 fields"),
        ("0 2 * * * *", "expected 5 fields"),
        ("", "expected 5 fields"),
        ("@reboot", "expected 5 fields"),
        ("60 * * * *", "Invalid minute expression '60'"),
        ("* 24 * * *", "Invalid hour expression"),
        ("* * 0 * *", "Invalid day expression"),
        ("* * * 13 *", "Invalid month expression"),
        ("* * * * 8", "Invalid day_of_week expression"),
        ("* * * * 5-2", "Invalid day_of_week expression"),
        ("* * * * 5#6", "Invalid day_of_week expression"),
        ("* * * * xyzL", "Invalid day_of_week expression"),
        ("0 0 */2 * 5L", "Invalid day_of_week expression"),
        ("* * LW * *", "Invalid day expression"),
    ],
)
def test_bad_crontabs(expr: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        CronTrigger.from_crontab(expr)
    assert repr(expr) in str(info.value)


def test_non_string() -> None:
    with pytest.raises(ValueError, match="expected a string"):
        CronTrigger.from_crontab(5)  # type: ignore[arg-type]


def test_timezone_and_jitter_pass_through() -> None:
    trigger = CronTrigger.from_crontab("0 8 * * *", timezone="Europe/Berlin", jitter=5)
    assert trigger.jitter == 5
    assert str(trigger.timezone) == "Europe/Berlin"
