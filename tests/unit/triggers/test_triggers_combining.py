from datetime import UTC, datetime, timedelta

import pytest

from asyncz_like.triggers import (
    AndTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
)
from asyncz_like.triggers.base import BaseTrigger

NOW = datetime(2025, 1, 1, tzinfo=UTC)  # a Wednesday


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def fires(trigger: BaseTrigger, count: int = 3, now: datetime = NOW) -> list[datetime]:
    result: list[datetime] = []
    previous = None
    for _ in range(count):
        previous = trigger.get_next_trigger_time(UTC, previous, now)
        if previous is None:
            break
        result.append(previous)
    return result


def test_and_fires_where_all_agree() -> None:
    trigger = AndTrigger(
        [IntervalTrigger(hours=5, start_at=NOW), CronTrigger(day_of_week="sat,sun", hour="*")]
    )
    # Every 5 h from Wed 00:00: the first on the weekend is Sat 03:00.
    assert fires(trigger) == [utc(2025, 1, 4, 3), utc(2025, 1, 4, 8), utc(2025, 1, 4, 13)]


def test_and_of_crons() -> None:
    trigger = AndTrigger([CronTrigger(hour="*/2", minute=0), CronTrigger(hour="*/3", minute=0)])
    assert fires(trigger) == [utc(2025, 1, 1, 0), utc(2025, 1, 1, 6), utc(2025, 1, 1, 12)]


def test_and_with_a_date() -> None:
    trigger = AndTrigger([DateTrigger(utc(2025, 1, 6, 9)), CronTrigger(day_of_week="mon", hour=9)])
    assert fires(trigger) == [utc(2025, 1, 6, 9)]
    miss = AndTrigger([DateTrigger(utc(2025, 1, 7, 9)), CronTrigger(day_of_week="mon", hour=9)])
    assert fires(miss) == []


def test_and_gives_up_after_the_bound() -> None:
    never = AndTrigger(
        [
            IntervalTrigger(hours=2, start_at=NOW),
            IntervalTrigger(hours=2, start_at=NOW + timedelta(hours=1)),
        ]
    )
    assert never.get_next_trigger_time(UTC, None, NOW) is None


def test_and_ends_when_one_ends() -> None:
    trigger = AndTrigger(
        [CronTrigger(minute=0), IntervalTrigger(hours=1, start_at=NOW, end_at=utc(2025, 1, 1, 1))]
    )
    assert fires(trigger, 5) == [utc(2025, 1, 1, 0), utc(2025, 1, 1, 1)]


def test_or_fires_at_the_earliest() -> None:
    trigger = OrTrigger([CronTrigger(hour=8), CronTrigger(hour=20, minute=30)])
    assert fires(trigger, 4) == [
        utc(2025, 1, 1, 8),
        utc(2025, 1, 1, 20, 30),
        utc(2025, 1, 2, 8),
        utc(2025, 1, 2, 20, 30),
    ]


def test_or_continues_after_one_ends() -> None:
    trigger = OrTrigger([DateTrigger(utc(2025, 1, 1, 3)), CronTrigger(hour=5)])
    assert fires(trigger) == [utc(2025, 1, 1, 3), utc(2025, 1, 1, 5), utc(2025, 1, 2, 5)]
    assert fires(OrTrigger([DateTrigger(utc(2025, 1, 1, 3))]), 3) == [utc(2025, 1, 1, 3)]


@pytest.mark.parametrize("cls", [AndTrigger, OrTrigger])
def test_jitter_on_the_combination(cls: type[AndTrigger] | type[OrTrigger]) -> None:
    trigger = cls([CronTrigger(hour=8)], jitter=10)
    results = {trigger.get_next_trigger_time(UTC, None, NOW) for _ in range(50)}
    assert all(
        r is not None and utc(2025, 1, 1, 8) <= r <= utc(2025, 1, 1, 8, 0, 10) for r in results
    )


@pytest.mark.parametrize("cls", [AndTrigger, OrTrigger])
def test_bad_arguments(cls: type[AndTrigger] | type[OrTrigger]) -> None:
    with pytest.raises(ValueError, match="at least one"):
        cls([])
    with pytest.raises(TypeError, match=r"triggers\[1\]"):
        cls([CronTrigger(hour=1), "cron"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="list of triggers"):
        cls(CronTrigger(hour=1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="jitter"):
        cls([CronTrigger(hour=1)], jitter="x")  # type: ignore[arg-type]


def test_repr_str_and_equality() -> None:
    trigger = AndTrigger([CronTrigger(hour=8), IntervalTrigger(hours=1)], jitter=2)
    assert repr(trigger) == (
        "<AndTrigger([<CronTrigger (hour='8')>, "
        "<IntervalTrigger (interval=datetime.timedelta(seconds=3600))>], jitter=2)>"
    )
    assert str(trigger) == "and[cron[hour='8'], interval[1:00:00]]"
    assert trigger == AndTrigger([CronTrigger(hour=8), IntervalTrigger(hours=1)], jitter=2)
    assert trigger != OrTrigger([CronTrigger(hour=8), IntervalTrigger(hours=1)], jitter=2)
