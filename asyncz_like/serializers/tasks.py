"""Task records: a Task to bytes for a persistent store, and back.

Every store uses these two functions, so that checks on the way in (an importable function,
encodable arguments) and the handling of broken records on the way out are the same in all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from asyncz_like.exceptions import BrokenRecordError, TaskConfigurationError
from asyncz_like.serializers import json as json_format
from asyncz_like.serializers import signing
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.tasks.task import Task
from asyncz_like.tasks.validation import check_state
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import get_callable_name, obj_to_ref

__all__ = ["decode_task", "encode_task", "peek_task_id"]


def encode_task(task: Task, serializer: BaseSerializer, run_time: bool = True) -> bytes:
    """The record of ``task``. The task itself is never modified.

    ``run_time=False`` leaves the next run time out (None in the record), for a store that
    keeps it beside the record: the record then changes only when the task does, not at
    every fire, and is not written again by a release.

    Raises TaskConfigurationError when the function cannot be stored by reference, and
    SerializationError (naming e.g. ``kwargs['conn']``) when an argument cannot be encoded.
    """
    state = task.__getstate__()
    if not run_time:
        state["next_run_time"] = None
    if state.get("fn_reference") is None:
        state["fn_reference"] = _function_reference(task)
        state["fn"] = None
    return serializer.dumps(state)


def _function_reference(task: Task) -> str:
    if task.fn is None:
        raise TaskConfigurationError(f"Task {task.id!r} has no function to store")
    try:
        return obj_to_ref(task.fn)
    except (ValueError, TypeError) as exc:
        name = _describe(task.fn)
        raise TaskConfigurationError(
            f"Task {task.id!r}: the function {name} cannot be stored ({exc}). A persistent store "
            "keeps the function as an importable 'module:qualname' reference, so use a "
            "module-level function (or a staticmethod/classmethod of a module-level class), or "
            "pass the reference as a string (fn='myapp.jobs:send_report'). The memory store "
            "accepts any callable."
        ) from None


def _describe(fn: Callable[..., Any]) -> str:
    try:
        return repr(get_callable_name(fn))
    except TypeError:
        return repr(fn)


def decode_task(data: bytes, serializer: BaseSerializer) -> Task:
    """The Task a record holds, detached from any scheduler.

    Raises BrokenRecordError (with the task id when it can be read) for a record that cannot be
    decoded, is not trusted, has an unknown version, names a function that no longer imports,
    or holds a value a new task would be refused (``check_state``: the reason names the field).
    """
    try:
        state = serializer.loads(data)
    except BrokenRecordError as exc:
        raise BrokenRecordError(exc.task_id or peek_task_id(data), exc.reason) from exc
    except Exception as exc:  # a custom serializer's own error
        raise BrokenRecordError(peek_task_id(data), f"cannot decode: {exc!r}") from exc
    task_id = state.get("id") if isinstance(state.get("id"), str) else None
    reason = _check_state(state)
    if reason is not None:
        raise BrokenRecordError(task_id, reason)
    try:
        values = check_state(state)
    except ValueError as exc:
        raise BrokenRecordError(task_id, str(exc)) from exc
    try:
        task = Task.from_state(values)
    except (LookupError, ValueError, TypeError) as exc:
        raise BrokenRecordError(task_id, f"cannot be rebuilt: {exc!r}") from exc
    return task


_EXPECTED: dict[str, tuple[type, ...]] = {
    "id": (str,),
    "fn_reference": (str,),
    "args": (tuple, list),
    "kwargs": (dict,),
    "trigger": (BaseTrigger, type(None)),
    "next_run_time": (datetime, type(None)),
}


def _check_state(state: dict[str, Any]) -> str | None:
    """Why ``state`` does not have the form ``encode_task`` writes, or None; the values are
    checked next, by ``check_state``."""
    for name, types in _EXPECTED.items():
        value = state.get(name)
        if not isinstance(value, types):
            return f"{name} is {type(value).__name__}, not a task's {name}"
    next_run_time = state.get("next_run_time")
    if next_run_time is not None and next_run_time.tzinfo is None:
        return "next_run_time has no time zone"
    return None


def peek_task_id(data: bytes) -> str | None:
    """The task id of a JSON record that cannot be decoded, signed or not, else None.

    Only plain JSON is parsed; a pickle is never loaded without a valid signature.
    """
    try:
        view = memoryview(data)
        if view[:2] == signing.HEADER:
            view = view[2 + signing.DIGEST_SIZE :]
        if view[:2] != json_format.HEADER:
            return None
        state = json.loads(str(view[2:], "utf-8"))
    except Exception:
        return None
    task_id = state.get("id") if isinstance(state, dict) else None
    return task_id if isinstance(task_id, str) and task_id else None
