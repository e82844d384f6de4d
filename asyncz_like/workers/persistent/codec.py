"""Run records and kept work to bytes and back, with a store's serializer.

A run record is plain data: a result that the serializer cannot encode is replaced by a note
saying so (the run itself never fails for it). Kept work (a pending run to start again after a
restart) needs its function as an importable reference and its arguments encodable: that is
checked at ``submit``, where the error is useful.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asyncz_like.exceptions import BrokenRecordError, SerializationError, TaskConfigurationError
from asyncz_like.runs.backoff import Backoff
from asyncz_like.runs.options import RunOptions
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.run import UnstoredResult as UnstoredResult  # its home before runs/
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.utils import get_callable_name, obj_to_ref, ref_to_obj

VERSION = 1

#: The fields of a run, in the order of a snapshot tuple.
FIELDS = (
    "id",
    "task_id",
    "name",
    "status",
    "progress",
    "message",
    "result",
    "error",
    "attempt",
    "priority",
    "created_at",
    "scheduled_at",
    "started_at",
    "finished_at",
)
Snapshot = tuple[Any, ...]


def snapshot(run: Run) -> Snapshot:
    """The fields of ``run`` now (cheap: taken under the scheduler's run lock)."""
    return (
        run.id,
        run.task_id,
        run.name,
        run.status,
        run.progress,
        run.message,
        run.result,
        run.error,
        run.attempt,
        run.priority,
        run.created_at,
        run.scheduled_at,
        run.started_at,
        run.finished_at,
    )


def encode_run(fields: Snapshot, serializer: BaseSerializer) -> bytes:
    """The record of a run snapshot; an unencodable result is replaced by a note."""
    state = dict(zip(FIELDS, fields, strict=True))
    state["v"] = VERSION
    state["status"] = fields[3].value
    error: RunError | None = fields[7]
    state["error"] = None if error is None else [error.type, error.message, error.traceback]
    if isinstance(state["result"], UnstoredResult):  # read back from a store, written again
        state["result"], state["unstored"] = None, state["result"].reason
    try:
        return serializer.dumps(state)
    except Exception as exc:  # a custom serializer may raise anything; the run must not fail
        state["result"], state["unstored"] = None, _why(state["result"], exc)
    return serializer.dumps(state)


def _why(value: Any, exc: Exception) -> str:
    return f"the serializer cannot encode a {type(value).__qualname__}: {exc}"


def decode_run(data: bytes, serializer: BaseSerializer) -> Run:
    """The Run a record holds; BrokenRecordError when it is not one."""
    state = serializer.loads(bytes(data))
    run_id = state.get("id") if isinstance(state.get("id"), str) else None
    if state.get("v") != VERSION:
        raise BrokenRecordError(run_id, f"unknown run record version {state.get('v')!r}")
    try:
        fields = {name: state[name] for name in FIELDS}
        error = fields["error"]
        fields["error"] = None if error is None else RunError(*error)
        run = Run(**fields)
    except (KeyError, TypeError, ValueError) as exc:
        raise BrokenRecordError(run_id, f"not a run record: {exc!r}") from exc
    if state.get("unstored") is not None:
        run.result = UnstoredResult(str(state["unstored"]))
    return run


# -- kept work ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class KeptWork:
    """What a kept run needs to start again: its function, arguments, options and due time."""

    run: Run
    fn: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    options: RunOptions
    due: datetime | None


def encode_work(
    fn: Any,
    reference: str | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    options: RunOptions,
    serializer: BaseSerializer,
) -> bytes:
    """The record of what a submitted run calls, so that another start can run it.

    TaskConfigurationError when the function (or a ``retry_on`` type) is not importable by
    reference, SerializationError naming the argument that the serializer cannot encode.
    """
    backoff = options.backoff
    state = {
        "v": VERSION,
        "fn": reference or _reference(fn, "fn", "the function"),
        "args": tuple(args),
        "kwargs": dict(kwargs),
        "name": options.name,
        "priority": options.priority,
        "timeout": options.timeout,
        "max_retries": options.max_retries,
        "backoff": [backoff.base, backoff.factor, backoff.max_delay, backoff.jitter],
        "retry_on": [
            _reference(kind, "retry_on", "the exception type") for kind in options.retry_on
        ],
        "executor": options.executor,
    }
    try:
        return serializer.dumps(state)
    except SerializationError as exc:
        raise SerializationError(
            f"The arguments of a run kept in a persistent run history must be encodable by "
            f"the store's serializer: {exc}",
            exc.path,
        ) from None


def _reference(obj: Any, argument: str, what: str) -> str:
    try:
        return obj_to_ref(obj)
    except (ValueError, TypeError) as exc:
        try:
            name = repr(get_callable_name(obj))
        except TypeError:
            name = repr(obj)
        raise TaskConfigurationError(
            f"{argument}: {what} {name} cannot be stored ({exc}). The run history is kept in "
            "a persistent store, which keeps pending work for the next start by an importable "
            "'module:qualname' reference: use a module-level function (or pass the reference "
            "as a string), or run_history='memory' to keep runs in memory only"
        ) from None


def encode_kept(work: bytes, due: datetime | None, serializer: BaseSerializer) -> bytes:
    """The work record of a kept run with the time its next attempt is due."""
    return serializer.dumps({"v": VERSION, "due": due, "work": work})


def decode_kept(run: Run, data: bytes, serializer: BaseSerializer) -> KeptWork:
    """The kept work of ``run``; BrokenRecordError when it cannot be decoded or imported."""
    try:
        kept = serializer.loads(bytes(data))
        state = serializer.loads(kept["work"])
        if kept.get("v") != VERSION or state.get("v") != VERSION:
            raise ValueError(f"unknown version {state.get('v')!r}")
        fn = ref_to_obj(state["fn"])
        retry_on = tuple(ref_to_obj(ref) for ref in state["retry_on"])
        options = RunOptions(
            name=state["name"],
            priority=state["priority"],
            timeout=state["timeout"],
            max_retries=state["max_retries"],
            backoff=Backoff(*state["backoff"]),
            retry_on=retry_on,
            executor=state["executor"],
        )
        args, kwargs = tuple(state["args"]), dict(state["kwargs"])
    except BrokenRecordError as exc:
        raise BrokenRecordError(run.id, exc.reason) from exc
    except Exception as exc:
        raise BrokenRecordError(run.id, f"cannot restore the kept work: {exc!r}") from exc
    if not callable(fn):
        raise BrokenRecordError(run.id, f"{state['fn']!r} does not name a callable")
    return KeptWork(run, fn, args, kwargs, options, kept["due"])
