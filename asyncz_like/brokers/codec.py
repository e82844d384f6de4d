"""What a broker that leaves the process keeps as bytes: the work of an envelope and a result.

Encoded with the project's serializers (JSON by default, pickle on request). Work that cannot
be encoded fails at enqueue with an error naming the run and the argument; a result that
cannot be encoded is kept as a note saying why (:class:`~asyncz_like.runs.UnstoredResult`),
so finishing a run never fails for it.
"""

from __future__ import annotations

import functools
from typing import Any

from asyncz_like.brokers.records import Envelope
from asyncz_like.exceptions import BrokenRecordError, SerializationError
from asyncz_like.runs.backoff import Backoff
from asyncz_like.runs.run import UnstoredResult
from asyncz_like.serializers.base import BaseSerializer

VERSION = 1


def encode_work(envelope: Envelope, serializer: BaseSerializer) -> bytes:
    """The fields of ``envelope`` that have no column of their own."""
    backoff = envelope.retry_backoff
    state = {
        "v": VERSION,
        "target": envelope.target,
        "args": envelope.args,
        "kwargs": envelope.kwargs,
        "max_retries": envelope.max_retries,
        "backoff": [backoff.base, backoff.factor, backoff.max_delay, backoff.jitter],
        "timeout": envelope.timeout,
        "headers": envelope.headers,
        "due": envelope.due,
    }
    try:
        return serializer.dumps(state)
    except SerializationError as exc:
        raise SerializationError(
            f"run {envelope.run_id!r}: the arguments of a run sent to a broker must be "
            f"encodable by its serializer: {exc}",
            exc.path,
        ) from None


def decode_work(data: bytes, serializer: BaseSerializer, **columns: Any) -> Envelope:
    """The envelope of a run from its work record and its ``columns`` (run_id, queue,
    priority, max_deliveries, task_id, name, created_at); BrokenRecordError otherwise."""
    try:
        state = serializer.loads(bytes(data))
        if state.get("v") != VERSION:
            raise ValueError(f"unknown work record version {state.get('v')!r}")
        return Envelope(
            target=state["target"],
            args=tuple(state["args"]),
            kwargs=dict(state["kwargs"]),
            max_retries=state["max_retries"],
            retry_backoff=_backoff(state["backoff"]),
            timeout=state["timeout"],
            headers=dict(state["headers"]),
            due=state["due"],
            **columns,
        )
    except BrokenRecordError as exc:
        raise BrokenRecordError(columns.get("run_id"), exc.reason) from exc
    except Exception as exc:
        raise BrokenRecordError(columns.get("run_id"), f"not a work record: {exc!r}") from exc


def _backoff(fields: Any) -> Backoff:
    """The Backoff of a work record: most runs share a few, so each is built (and checked)
    once, not once per run read."""
    try:
        return _shared_backoff(*fields)
    except TypeError:  # an unhashable field: Backoff names what is wrong with it
        return Backoff(*fields)


@functools.lru_cache(maxsize=256, typed=True)
def _shared_backoff(*fields: Any) -> Backoff:
    return Backoff(*fields)


def encode_result(result: Any, serializer: BaseSerializer) -> bytes:
    """``result`` as bytes, or a note saying why the serializer could not encode it."""
    try:
        return serializer.dumps({"v": VERSION, "result": result})
    except Exception as exc:  # a custom serializer may raise anything; the finish must not
        reason = f"the serializer cannot encode a {type(result).__qualname__}: {exc}"
    return serializer.dumps({"v": VERSION, "unstored": reason})


def decode_result(data: bytes | None, serializer: BaseSerializer) -> Any:
    """The result kept by :func:`encode_result`; a note when it cannot be read back."""
    if data is None:
        return None
    try:
        state = serializer.loads(bytes(data))
    except BrokenRecordError as exc:
        return UnstoredResult(f"the result cannot be read back: {exc.reason}")
    if "unstored" in state:
        return UnstoredResult(str(state["unstored"]))
    return state.get("result")
