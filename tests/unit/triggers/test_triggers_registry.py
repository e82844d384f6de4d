from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.exceptions import UnknownAliasError
from asyncz_like.triggers import (
    TRIGGERS,
    AndTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
    ShutdownTrigger,
    create_trigger,
)
from asyncz_like.triggers.base import BaseTrigger

NOW = datetime(2025, 1, 1, 10, 0, tzinfo=UTC)


def test_aliases() -> None:
    assert TRIGGERS.aliases() == ["and", "cron", "date", "interval", "or", "shutdown"]
    for cls in (AndTrigger, CronTrigger, DateTrigger, IntervalTrigger, OrTrigger, ShutdownTrigger):
        assert cls.alias is not None and TRIGGERS.get(cls.alias) is cls


def test_create_trigger() -> None:
    assert create_trigger("cron", hour=8) == CronTrigger(hour=8)
    assert create_trigger("interval", minutes=5) == IntervalTrigger(minutes=5)
    assert create_trigger({"type": "date", "run_at": NOW}) == DateTrigger(NOW)
    assert create_trigger(IntervalTrigger, seconds=1) == IntervalTrigger(seconds=1)
    instance = ShutdownTrigger()
    assert create_trigger(instance) is instance


def test_unknown_alias() -> None:
    with pytest.raises(UnknownAliasError, match="'crom'"):
        create_trigger("crom", hour=8)


def test_unknown_option_is_named() -> None:
    with pytest.raises(TypeError, match="'minuts'"):
        create_trigger("interval", minuts=5)
    with pytest.raises(TypeError, match="options"):
        create_trigger(ShutdownTrigger(), hour=1)
    with pytest.raises(TypeError, match="trigger alias"):
        create_trigger(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'type'"):
        create_trigger({"hour": 1})


def test_bad_value_is_named() -> None:
    with pytest.raises(ValueError, match="Invalid hour expression"):
        create_trigger("cron", hour=25)


def test_shutdown_trigger() -> None:
    trigger = ShutdownTrigger()
    assert trigger.get_next_trigger_time(UTC, None, NOW) is None
    assert trigger.get_next_trigger_time(UTC, NOW, NOW) is None
    assert ShutdownTrigger.allow_mistrigger_by_default
    assert not CronTrigger.allow_mistrigger_by_default
    assert repr(trigger) == "<ShutdownTrigger>" and str(trigger) == "shutdown"
    assert trigger == ShutdownTrigger()


SKIP_AHEAD = [
    CronTrigger(minute="*/5"),
    CronTrigger(second="*"),
    CronTrigger(hour=10, timezone="Europe/Berlin"),
    CronTrigger.from_crontab("0 10 * * *"),
    IntervalTrigger(minutes=5),
    IntervalTrigger(minutes=5, start_at=NOW - timedelta(hours=1)),
    DateTrigger(NOW + timedelta(hours=1)),
    AndTrigger([CronTrigger(minute="*/5"), CronTrigger(minute="*/10")]),
    OrTrigger([CronTrigger(hour=10), IntervalTrigger(hours=3, start_at=NOW)]),
]


@pytest.mark.parametrize("trigger", SKIP_AHEAD, ids=repr)
@pytest.mark.parametrize("zone", [UTC, ZoneInfo("Europe/Berlin")])
def test_skip_ahead_is_strictly_after_now(trigger: BaseTrigger, zone: ZoneInfo) -> None:
    for now in (NOW, NOW + timedelta(microseconds=250), datetime(2025, 10, 26, 1, 30, tzinfo=UTC)):
        result = trigger.get_next_trigger_time(zone, now, now)
        assert result is None or result > now
        assert result is None or result.tzinfo is not None


def test_skip_ahead_for_a_passed_date_is_none() -> None:
    assert DateTrigger(NOW).get_next_trigger_time(UTC, NOW, NOW) is None
