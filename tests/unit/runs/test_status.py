"""The status table: every legal move is allowed, every other one refused, in one place."""

from __future__ import annotations

import itertools

import pytest

from asyncz_like.exceptions import InvalidRunTransitionError
from asyncz_like.runs import FINAL_STATUSES, TRANSITIONS, RunStatus, TaskPriority
from asyncz_like.runs.history import MemoryRunHistory
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import check_transition
from asyncz_like.workers.ledger import Ledger
from tests.helpers import START, manual_scheduler

LEGAL = {
    (RunStatus.PENDING, RunStatus.RUNNING),
    (RunStatus.PENDING, RunStatus.CANCELLED),
    (RunStatus.PENDING, RunStatus.FAILED),
    (RunStatus.RUNNING, RunStatus.COMPLETED),
    (RunStatus.RUNNING, RunStatus.FAILED),
    (RunStatus.RUNNING, RunStatus.CANCELLED),
    (RunStatus.RUNNING, RunStatus.TIMEOUT),
    (RunStatus.RUNNING, RunStatus.RETRYING),
    (RunStatus.RETRYING, RunStatus.RUNNING),
    (RunStatus.RETRYING, RunStatus.CANCELLED),
    (RunStatus.RETRYING, RunStatus.FAILED),
}
ALL_PAIRS = list(itertools.product(RunStatus, RunStatus))


def test_the_table_is_exactly_the_legal_moves() -> None:
    table = {(old, new) for old, targets in TRANSITIONS.items() for new in targets}
    assert table == LEGAL
    assert set(TRANSITIONS) == set(RunStatus)


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=lambda s: s.value)
def test_check_transition(old: RunStatus, new: RunStatus) -> None:
    if (old, new) in LEGAL:
        check_transition("r1", old, new)
    else:
        with pytest.raises(InvalidRunTransitionError, match="'r1' cannot go from") as info:
            check_transition("r1", old, new)
        assert isinstance(info.value, ValueError)
        assert (info.value.old, info.value.new) == (old, new)


@pytest.mark.parametrize(("old", "new"), ALL_PAIRS, ids=lambda s: s.value)
def test_the_ledger_moves_only_along_the_table(old: RunStatus, new: RunStatus) -> None:
    scheduler = manual_scheduler()
    ledger = Ledger(scheduler, MemoryRunHistory())
    run = Run("r1", status=old, created_at=START)
    ledger.enter(run)
    if (old, new) in LEGAL:
        ledger.move(run, new, START)
        assert run.status is new
        assert (run.finished_at is not None) == (new in FINAL_STATUSES)
    else:
        with pytest.raises(InvalidRunTransitionError):
            ledger.move(run, new, START)
        assert run.status is old


def test_final_statuses() -> None:
    assert {s for s in RunStatus if s.finished} == FINAL_STATUSES
    assert {
        RunStatus.COMPLETED,
        RunStatus.FAILED,
        RunStatus.CANCELLED,
        RunStatus.TIMEOUT,
    } == FINAL_STATUSES
    assert RunStatus("running") is RunStatus.RUNNING and RunStatus.RUNNING == "running"


def test_priorities_are_ints_higher_first() -> None:
    ordered = sorted(TaskPriority, reverse=True)
    assert ordered == [
        TaskPriority.CRITICAL,
        TaskPriority.HIGH,
        TaskPriority.NORMAL,
        TaskPriority.LOW,
    ]
    assert TaskPriority.NORMAL == 0 and isinstance(TaskPriority.HIGH, int)
