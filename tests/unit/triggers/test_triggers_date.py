from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.triggers import DateTrigger

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_fires_once_at_run_at() -> None:
    run_at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    trigger = DateTrigger(run_at)
    assert trigger.get_next_trigger_time(UTC, None, NOW) == run_at
    assert trigger.get_next_trigger_time(UTC, run_at, NOW) is None


def test_run_at_in_the_past_still_fires_once() -> None:
    run_at = datetime(2025, 5, 1, tzinfo=UTC)
    assert DateTrigger(run_at).get_next_trigger_time(UTC, None, NOW) == run_at


def test_previous_before_run_at_still_gives_run_at() -> None:
    run_at = datetime(2025, 6, 2, tzinfo=UTC)
    trigger = DateTrigger(run_at)
    assert trigger.get_next_trigger_time(UTC, run_at - timedelta(seconds=1), NOW) == run_at
    assert trigger.get_next_trigger_time(UTC, run_at + timedelta(seconds=1), NOW) is None


def test_without_run_at_fires_now_then_never() -> None:
    trigger = DateTrigger()
    assert trigger.get_next_trigger_time(UTC, None, NOW) == NOW
    assert trigger.get_next_trigger_time(UTC, NOW, NOW + timedelta(hours=1)) is None


def test_without_run_at_and_now_fails_clearly() -> None:
    with pytest.raises(ValueError, match="now"):
        DateTrigger().get_next_trigger_time(UTC, None)


def test_naive_run_at_uses_trigger_zone() -> None:
    trigger = DateTrigger(datetime(2025, 1, 15, 8, 0), timezone="Europe/Berlin")
    result = trigger.get_next_trigger_time(UTC, None, NOW)
    assert result == datetime(2025, 1, 15, 7, 0, tzinfo=UTC)
    assert result is not None and result.tzinfo == BERLIN


def test_naive_run_at_without_zone_uses_scheduler_zone() -> None:
    trigger = DateTrigger("2025-01-15 08:00")
    assert trigger.get_next_trigger_time(BERLIN, None, NOW) == datetime(
        2025, 1, 15, 7, 0, tzinfo=UTC
    )
    assert trigger.get_next_trigger_time("UTC", None, NOW) == datetime(
        2025, 1, 15, 8, 0, tzinfo=UTC
    )


def test_date_run_at_means_midnight() -> None:
    trigger = DateTrigger(date(2025, 7, 1), timezone="UTC")
    assert trigger.get_next_trigger_time(UTC, None, NOW) == datetime(2025, 7, 1, tzinfo=UTC)


def test_result_is_expressed_in_the_zone() -> None:
    run_at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    result = DateTrigger(run_at).get_next_trigger_time(BERLIN, None, NOW)
    assert result is not None and result.utcoffset() == timedelta(hours=2)


def test_bad_input_names_the_argument() -> None:
    with pytest.raises(ValueError, match="run_at"):
        DateTrigger("not a date")
    with pytest.raises(ValueError, match="time zone"):
        DateTrigger(NOW, timezone="Mars/Olympus")
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        DateTrigger(NOW).get_next_trigger_time(UTC, None, datetime(2025, 1, 1))


def test_repr_and_str() -> None:
    trigger = DateTrigger(datetime(2025, 1, 15, 8, 0), timezone="Europe/Berlin")
    assert repr(trigger) == "<DateTrigger (run_at='2025-01-15 08:00:00 CET')>"  # as asyncz
    assert str(trigger) == "date[2025-01-15 08:00:00 CET]"
    assert str(DateTrigger()) == "date[now]"


def test_equality() -> None:
    assert DateTrigger(NOW) == DateTrigger(NOW)
    assert DateTrigger(NOW) != DateTrigger(NOW, timezone="UTC")
    assert len({DateTrigger(NOW), DateTrigger(NOW)}) == 1


def test_after_its_fire_instants_are_compared_across_zones() -> None:
    run_at = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
    trigger = DateTrigger(run_at)
    same_instant = run_at.astimezone(BERLIN)  # 10:00 in Berlin
    assert trigger.get_next_trigger_time(UTC, same_instant, NOW) is None
    assert trigger.get_next_trigger_time(UTC, same_instant - timedelta(hours=1), NOW) == run_at
    with pytest.raises(ValueError, match="previous_time"):
        trigger.get_next_trigger_time(UTC, run_at.replace(tzinfo=None), NOW)
