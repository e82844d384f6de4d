"""Every trigger survives __getstate__/__setstate__, pickle and JSON mid-iteration."""

import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import pytz
from dateutil import tz as dateutil_tz

from asyncz_like.triggers import (
    AndTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
    ShutdownTrigger,
)
from asyncz_like.triggers.base import BaseTrigger

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2025, 3, 29, 12, 0, tzinfo=UTC)

FACTORIES: dict[str, Callable[[], BaseTrigger]] = {
    "date": lambda: DateTrigger(datetime(2025, 4, 1, 8, 0), timezone="Europe/Berlin"),
    "date-naive": lambda: DateTrigger("2025-04-01T08:00:00"),
    "interval": lambda: IntervalTrigger(
        minutes=47, start_at=datetime(2025, 3, 29, 9, 13), end_at="2025-04-30", timezone=BERLIN
    ),
    "interval-plain": lambda: IntervalTrigger(seconds=30),
    "cron": lambda: CronTrigger(hour="*/3", minute=15, timezone="Europe/Berlin"),
    "cron-naive-start": lambda: CronTrigger(day="last fri", start_at=datetime(2025, 4, 1)),
    "crontab": lambda: CronTrigger.from_crontab("0 2 13 * 5", timezone="Europe/Berlin"),
    "shutdown": ShutdownTrigger,
    "and": lambda: AndTrigger(
        [CronTrigger(minute="*/10"), IntervalTrigger(minutes=15, start_at=NOW)]
    ),
    "or": lambda: OrTrigger(
        [CronTrigger(hour=8), DateTrigger(datetime(2025, 3, 30, 1, tzinfo=UTC))]
    ),
}


def fires(trigger: BaseTrigger, previous: datetime | None, count: int) -> list[datetime]:
    result: list[datetime] = []
    for _ in range(count):
        previous = trigger.get_next_trigger_time(BERLIN, previous, NOW)
        if previous is None:
            break
        result.append(previous)
    return result


def _json_default(value: object) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(type(value).__name__)


def via_state(trigger: BaseTrigger) -> BaseTrigger:
    copy = type(trigger).__new__(type(trigger))
    copy.__setstate__(trigger.__getstate__())
    return copy


def via_pickle(trigger: BaseTrigger) -> BaseTrigger:
    restored: BaseTrigger = pickle.loads(pickle.dumps(trigger))
    return restored


def via_json(trigger: BaseTrigger) -> BaseTrigger:
    state = json.loads(json.dumps(trigger.__getstate__(), default=_json_default))
    copy = type(trigger).__new__(type(trigger))
    copy.__setstate__(state)
    return copy


@pytest.mark.parametrize("roundtrip", [via_state, via_pickle, via_json])
@pytest.mark.parametrize("name", FACTORIES)
def test_roundtrip_mid_iteration(
    name: str, roundtrip: Callable[[BaseTrigger], BaseTrigger]
) -> None:
    original = FACTORIES[name]()
    head = fires(original, None, 2)
    previous = head[-1] if head else None
    restored = roundtrip(original)
    assert restored == original
    assert restored.__getstate__() == original.__getstate__()
    assert fires(restored, previous, 5) == fires(original, previous, 5)


def _plain(value: object) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | float | bool | datetime | timedelta)


@pytest.mark.parametrize("name", FACTORIES)
def test_state_is_plain_data_with_a_version(name: str) -> None:
    state = FACTORIES[name]().__getstate__()
    assert state["version"] == 1
    assert _plain(state)


@pytest.mark.parametrize(
    "zone",
    [
        ZoneInfo("Europe/Berlin"),
        "Europe/Berlin",
        pytz.timezone("Europe/Berlin"),
        dateutil_tz.gettz("Europe/Berlin"),
    ],
)
def test_zones_are_stored_by_name(zone: object) -> None:
    assert CronTrigger(hour=1, timezone=zone).__getstate__()["timezone"] == "Europe/Berlin"  # type: ignore[arg-type]


@pytest.mark.parametrize("zone", [UTC, "UTC", pytz.utc, dateutil_tz.UTC])
def test_utc_is_stored_as_utc(zone: object) -> None:
    assert IntervalTrigger(hours=1, timezone=zone).__getstate__()["timezone"] == "UTC"  # type: ignore[arg-type]


def test_zone_without_name_cannot_be_stored() -> None:
    trigger = IntervalTrigger(hours=1, timezone=timezone(timedelta(hours=2)))
    with pytest.raises(ValueError, match="no IANA name"):
        trigger.__getstate__()


@pytest.mark.parametrize("name", FACTORIES)
def test_newer_versions_are_refused(name: str) -> None:
    trigger = FACTORIES[name]()
    state = {**trigger.__getstate__(), "version": 2}
    with pytest.raises(ValueError, match="version 2"):
        type(trigger).__new__(type(trigger)).__setstate__(state)


def test_jitter_survives() -> None:
    trigger = CronTrigger(hour=8, jitter=30)
    assert via_json(trigger) == trigger
    assert via_pickle(OrTrigger([trigger], jitter=4)).jitter == 4


@pytest.mark.parametrize(
    ("name", "changes", "named"),
    [
        ("interval", {"interval": timedelta(seconds=-5)}, "interval"),
        ("interval", {"interval": 0}, "interval"),
        ("interval", {"end_at": datetime(2000, 1, 1, tzinfo=UTC)}, "end_at"),
        ("interval", {"timezone": 5}, "timezone"),
        ("interval", {"timezone": "Mars/Olympus"}, "timezone"),
        ("interval", {"jitter": float("inf")}, "jitter"),
        ("cron", {"day_or": "yes"}, "day_or"),
        ("cron", {"fields": ["hour"]}, "fields"),
        ("cron", {"fields": {"second": "99"}}, "second"),
        ("cron", {"version": True}, "version"),
        ("and", {"triggers": []}, "at least one"),
        ("and", {"triggers": [5]}, "trigger"),
        ("or", {"triggers": "cron"}, "triggers"),
    ],
)
def test_a_state_is_checked_as_the_arguments_are(
    name: str, changes: dict[str, Any], named: str
) -> None:
    """What ``__init__`` refuses, ``__setstate__`` refuses too: a stored trigger holds only
    what a new one may be given."""
    trigger = FACTORIES[name]()
    with pytest.raises((TypeError, ValueError), match=named):
        type(trigger).__new__(type(trigger)).__setstate__({**trigger.__getstate__(), **changes})


@pytest.mark.parametrize(
    ("make", "named"),
    [
        (lambda: IntervalTrigger(seconds=1, jitter=float("inf")), "jitter"),
        (lambda: CronTrigger(hour=1, day_or=1), "day_or"),
    ],
)
def test_arguments_a_state_could_not_hold_are_refused(
    make: Callable[[], BaseTrigger], named: str
) -> None:
    with pytest.raises((TypeError, ValueError), match=named):
        make()
