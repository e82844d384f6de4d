"""The Run record: validation at the edge, plain-data form, errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from asyncz_like.runs import Run, RunError, RunStatus, TaskPriority
from asyncz_like.runs.run import new_run_id
from tests.helpers import START


def test_defaults_and_coercion() -> None:
    run = Run("r1", status="running", progress=50, priority=TaskPriority.HIGH, created_at=START)  # type: ignore[arg-type]
    assert run.status is RunStatus.RUNNING
    assert run.progress == 50.0 and isinstance(run.progress, float)
    assert run.priority == 10 and run.attempt == 0 and run.error is None
    assert run.duration is None and not run.finished


@pytest.mark.parametrize(
    ("fields", "error", "text"),
    [
        ({"id": ""}, TypeError, "Run.id"),
        ({"id": 7}, TypeError, "Run.id"),
        ({"status": "sleeping"}, ValueError, "sleeping"),
        ({"progress": 101}, ValueError, "from 0 to 100"),
        ({"progress": -1}, ValueError, "from 0 to 100"),
        ({"progress": True}, TypeError, "progress"),
        ({"progress": float("nan")}, ValueError, "from 0 to 100"),
        ({"attempt": -1}, ValueError, "attempt"),
        ({"priority": True}, TypeError, "priority"),
        ({"priority": 1.5}, TypeError, "priority"),
        ({"created_at": datetime(2026, 1, 1)}, ValueError, "created_at"),
        ({"finished_at": "2026-01-01T00:00:00+00:00"}, ValueError, "finished_at"),
        ({"error": "boom"}, TypeError, "Run.error"),
    ],
)
def test_bad_fields_fail_at_construction(fields: dict[str, Any], error: type, text: str) -> None:
    values: dict[str, Any] = {"id": "r1", **fields}
    with pytest.raises(error, match=text):
        Run(**values)


def test_error_from_mapping_and_from_exception() -> None:
    run = Run("r1", error={"type": "KeyError", "message": "x"})  # type: ignore[arg-type]
    assert run.error == RunError("KeyError", "x", None)
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        error = RunError.from_exception(exc)
    assert error.type == "ValueError" and error.message == "bad value"
    assert error.traceback is not None and "raise ValueError" in error.traceback


def test_to_dict_is_plain_data() -> None:
    run = Run(
        "r1",
        task_id="t",
        name="job",
        status=RunStatus.FAILED,
        error=RunError("KeyError", "x", "tb"),
        attempt=2,
        created_at=START,
        started_at=START,
        finished_at=START + timedelta(seconds=1.5),
    )
    data = run.to_dict()
    assert data["status"] == "failed" and data["attempt"] == 2
    assert data["error"] == {"type": "KeyError", "message": "x", "traceback": "tb"}
    assert data["created_at"] == START.isoformat() and data["scheduled_at"] is None
    assert run.duration == 1.5 and run.finished


def test_ids_are_unique_and_cheap() -> None:
    ids = {new_run_id() for _ in range(10_000)}
    assert len(ids) == 10_000
