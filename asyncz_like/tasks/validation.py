"""Checks on task attributes, applied where they are given so bad input fails at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from os import urandom
from typing import Any

from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import check_callable_args, get_callable_name, ref_to_obj, to_datetime

UPDATABLE = frozenset(
    {
        "fn",
        "args",
        "kwargs",
        "name",
        "trigger",
        "executor",
        "store_alias",
        "coalesce",
        "mistrigger_grace_time",
        "max_instances",
        "next_run_time",
    }
)


def new_task_id() -> str:
    """32 random hex digits, as ``uuid4().hex`` but without building a UUID."""
    return urandom(16).hex()


def resolve_callable(fn: Any) -> tuple[Callable[..., Any], str | None]:
    """The callable and its ``module:qualname`` reference when ``fn`` was given as one."""
    if isinstance(fn, str):
        try:
            target = ref_to_obj(fn)
        except (LookupError, ValueError) as exc:
            raise TaskConfigurationError(f"fn: {exc}") from exc
        if not callable(target):
            raise TaskConfigurationError(f"fn: {fn!r} does not name a callable")
        return target, fn
    if not callable(fn):
        raise TypeError(f"fn must be a callable or a 'module:qualname' string, got {fn!r}")
    return fn, None


def validate_changes(
    changes: Mapping[str, Any], current: Mapping[str, Any], timezone: tzinfo | None
) -> dict[str, Any]:
    """Validate ``changes`` to a task whose present attributes are ``current``.

    Returns the normalized values. Raises TypeError/ValueError naming the attribute.
    """
    result: dict[str, Any] = {}
    validators = _VALIDATORS
    calling = False  # fn, args or kwargs changed: the call is checked once, below
    for key, value in changes.items():
        check = validators.get(key)
        if check is not None:
            result[key] = check(value, timezone)
        elif key in _CALL:
            calling = True
        elif key == "id":
            if value != current.get("id"):
                raise ValueError("The task id cannot be changed")
        else:
            unknown = sorted(k for k in changes if k not in UPDATABLE and k != "id")
            raise AttributeError(f"Task has no attribute(s) to update: {', '.join(unknown)}")
    if calling:
        _validate_call(changes, current, result)
    return result


_CALL = frozenset({"fn", "args", "kwargs"})


def _validate_call(
    changes: Mapping[str, Any], current: Mapping[str, Any], result: dict[str, Any]
) -> None:
    if "fn" in changes:
        result["fn"], result["fn_reference"] = resolve_callable(changes["fn"])
        if "name" not in changes and current.get("name") is None:
            result["name"] = get_callable_name(result["fn"])
    if "args" in changes:
        result["args"] = _as_args(changes["args"])
    if "kwargs" in changes:
        result["kwargs"] = _as_kwargs(changes["kwargs"])
    fn = result.get("fn", current.get("fn"))
    if fn is not None:
        check_callable_args(
            fn,
            result.get("args", current.get("args", ())),
            result.get("kwargs", current.get("kwargs", {})),
        )


def _as_args(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("args must be a non-string iterable")
    return tuple(value)


def _as_kwargs(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("kwargs must be a dict-like object")
    return dict(value)


def _name(value: Any, _: tzinfo | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError("name must be a nonempty string")
    return value


def _trigger(value: Any, _: tzinfo | None) -> BaseTrigger:
    if not isinstance(value, BaseTrigger):
        raise TypeError(f"trigger must be a trigger instance, got {type(value).__name__}")
    return value


def _alias(argument: str) -> Callable[[Any, tzinfo | None], str | None]:
    def check(value: Any, _: tzinfo | None) -> str | None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a string")
        return value

    return check


def _coalesce(value: Any, _: tzinfo | None) -> bool:
    if not isinstance(value, bool):
        raise TypeError("coalesce must be a boolean")
    return value


def _grace(value: Any, _: tzinfo | None) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TypeError("mistrigger_grace_time must be either None or a positive number")
    return value


def _max_instances(value: Any, _: tzinfo | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError("max_instances must be a positive integer")
    return value


def _next_run_time(value: Any, timezone: tzinfo | None) -> Any:
    return to_datetime(value, timezone, "next_run_time")


_VALIDATORS: dict[str, Callable[[Any, tzinfo | None], Any]] = {
    "name": _name,
    "trigger": _trigger,
    "executor": _alias("executor"),
    "store_alias": _alias("store"),
    "coalesce": _coalesce,
    "mistrigger_grace_time": _grace,
    "max_instances": _max_instances,
    "next_run_time": _next_run_time,
}
