"""The ends of fires stamped with datetimes are made into POSIX seconds only when read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from asyncz_like.runs.observers import EndedRuns
from asyncz_like.workers.fires import PosixEnds
from tests.helpers import START, FakeClock, manual_scheduler
from tests.unit.runs.helpers import double


def test_posix_ends_are_made_on_first_read() -> None:
    stamps: list[datetime | float] = [START, START + timedelta(seconds=1.5), 1.7e9]
    ends = PosixEnds(stamps)
    assert len(ends) == 3
    stamps[0] = START - timedelta(days=1)  # not made yet (len() makes nothing): seen
    assert list(ends) == [START.timestamp() - 86400, START.timestamp() + 1.5, 1.7e9]
    stamps[0] = START  # made now: kept
    assert ends[0] == START.timestamp() - 86400
    assert ends[1] == START.timestamp() + 1.5 and ends[-1] == 1.7e9
    assert list(ends[:1]) == [START.timestamp() - 86400]
    assert datetime.fromtimestamp(max(ends), UTC) > START


def test_observers_of_a_fake_clock_burst_get_its_ends(clock: FakeClock) -> None:
    told: list[EndedRuns] = []

    class Observer:
        def runs_ended(self, ended: EndedRuns) -> None:
            told.append(ended)

    scheduler = manual_scheduler(clock, max_run_history=1)  # 2 fires counted, not kept
    scheduler.add_run_observer(Observer())
    scheduler.start()
    for index in range(3):
        scheduler.add_task(double, "date", run_at=START, args=[index], id=f"t{index}")
    clock.advance(0.5)
    scheduler.process_tasks()
    scheduler.flush_run_records()
    assert any(isinstance(ended.ended_at, PosixEnds) for ended in told)
    ends = [end for ended in told for end in ended.ended_at]
    assert ends == [(START + timedelta(seconds=0.5)).timestamp()] * 3
