"""Rows of the run table to records and back."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.codec import decode_result, decode_work, encode_work
from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.sqlalchemy.schema import from_micros, to_micros
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer

#: The columns a delivery is built from.
ENVELOPE_COLUMNS = (
    "id",
    "queue",
    "priority",
    "max_deliveries",
    "task_id",
    "name",
    "created_at",
    "payload",
    "token",
    "attempt",
)


def new_batch() -> str:
    """A mark for the rows of one enqueue, to tell them from rows that existed already."""
    return secrets.token_hex(8)


def row_of(
    envelope: Envelope, now: datetime, batch: str, serializer: BaseSerializer
) -> dict[str, Any]:
    """The new row of ``envelope`` (the other columns have server defaults)."""
    created = envelope.created_at or now
    return {
        "id": envelope.run_id,
        "queue": envelope.queue,
        "priority": envelope.priority,
        "due": to_micros(envelope.due or created),
        "created_at": to_micros(created),
        "max_deliveries": envelope.max_deliveries,
        "task_id": envelope.task_id,
        "name": envelope.name,
        "batch": batch,
        "payload": encode_work(envelope, serializer),
    }


def envelope_of(row: Any, serializer: BaseSerializer) -> Envelope:
    """The envelope kept in a row with ENVELOPE_COLUMNS."""
    return decode_work(
        row.payload,
        serializer,
        run_id=row.id,
        queue=row.queue,
        priority=row.priority,
        max_deliveries=row.max_deliveries,
        task_id=row.task_id,
        name=row.name,
        created_at=from_micros(row.created_at),
    )


def run_of(row: Any, serializer: BaseSerializer) -> Run:
    """The Run record of a full row."""
    error = None
    if row.error_type is not None:
        error = RunError(row.error_type, row.error_message or "", row.error_traceback)
    return Run(
        row.id,
        row.task_id,
        row.name,
        RunStatus(row.status),
        float(row.progress),
        row.message,
        decode_result(row.result, serializer),
        error,
        row.attempt,
        row.priority,
        from_micros(row.created_at),
        from_micros(row.due),
        from_micros(row.started_at),
        from_micros(row.finished_at),
        row.queue,
        row.token,
    )


def error_values(error: RunError | None) -> dict[str, Any]:
    """The error columns of ``error``."""
    if error is None:
        return {"error_type": None, "error_message": None, "error_traceback": None}
    if not isinstance(error, RunError):
        raise TypeError(f"error must be a RunError, got error={error!r}")
    return {
        "error_type": error.type,
        "error_message": error.message,
        "error_traceback": error.traceback,
    }


def released() -> dict[str, Any]:
    """The columns a run leaving its worker clears."""
    return {"worker_id": None, "lease_until": None}


def among(column: sa.ColumnElement[Any], values: Any) -> sa.ColumnElement[bool]:
    return column.in_(list(values))
