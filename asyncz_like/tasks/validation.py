"""Checks on task attributes, applied where they are given so bad input fails at once."""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable, Mapping
from datetime import tzinfo
from typing import Any

from asyncz_like.callable_cache import CallableCache, Shape, call_key
from asyncz_like.exceptions import TaskConfigurationError
from asyncz_like.ids import random_hex_id
from asyncz_like.limits import check_count, check_seconds
from asyncz_like.tasks.unresolved import UnresolvedFunction, unresolved_allowed
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


#: A new task id: 32 random hex digits, as ``uuid4().hex``.
new_task_id = random_hex_id


def check_id(value: Any) -> str:
    """A task id given: a nonempty string."""
    if not isinstance(value, str) or not value:
        raise TypeError("id must be a nonempty string")
    return value


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
                raise ValueError("The task ID may not be changed.")
        else:
            unknown = sorted(k for k in changes if k not in UPDATABLE and k != "id")
            raise AttributeError(f"Task has no attribute(s) to update: {', '.join(unknown)}")
    if calling:
        _validate_call(changes, current, result)
    return result


_CALL = frozenset({"fn", "args", "kwargs"})


def check_call(
    fn: Any, args: Any, kwargs: Any, name: str | None
) -> tuple[
    Callable[..., Any] | None, str | None, tuple[Any, ...], dict[str, Any] | None, str | None
]:
    """A new task's ``fn``, its reference, ``args``, ``kwargs`` and ``name`` (the callable's
    own when None), checked as :func:`validate_changes` checks them; None means not given.
    No keyword arguments come back as None."""
    call = _call_shape(fn, args, kwargs)
    names = known = None
    if call is not None:
        names = _KNOWN_CALLS.get(call[0])
        known = None if names is None else names.get(call[1])
    if known is not None:  # nothing else to check: see _call_shape
        return (
            fn,
            None,
            args or (),
            dict(kwargs) if kwargs else None,
            known if name is None else name,
        )
    reference = own_name = None
    if fn is not None:
        fn, reference = resolve_callable(fn)
        own_name = get_callable_name(fn)
    args = () if args is None else _as_args(args)
    kwargs = {} if kwargs is None else _as_kwargs(kwargs)
    if fn is not None:
        check_callable_args(fn, args, kwargs)
    if call is not None and own_name is not None:
        if names is None:
            _KNOWN_CALLS.put(call[0], {call[1]: own_name})
        else:
            names[call[1]] = own_name
    return fn, reference, args, kwargs or None, own_name if name is None else name


#: The names of callables that passed :func:`check_call`, by callable, then by the shape of
#: the call: many tasks share a function and the shape of its arguments, and the checks are a
#: good part of an add. Held so that no callable, nor what it holds, is kept alive by it.
_KNOWN_CALLS: CallableCache[dict[Shape, str]] = CallableCache()


def _call_shape(fn: Any, args: Any, kwargs: Any) -> tuple[Any, Shape] | None:
    """The callable to key ``fn``'s checks by and the call's shape, when nothing but binding
    could fail them (a callable given as itself, args a tuple, kwargs a dict), else None
    (see :func:`~asyncz_like.callable_cache.call_key`)."""
    if fn is None or fn.__class__ is str:
        return None
    if args is not None and args.__class__ is not tuple:
        return None
    if kwargs is not None and kwargs.__class__ is not dict:
        return None
    return call_key(fn, 0 if args is None else len(args), () if kwargs is None else tuple(kwargs))


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
    if value.__class__ is tuple:  # the usual case, without the slower Iterable ABC check
        return value
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise TypeError("args must be a non-string iterable.")
    return tuple(value)


def _as_kwargs(value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError("kwargs must be a dict-like object.")
    return dict(value)


def check_name(value: Any, _: tzinfo | None) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise TypeError("name must be a non empty string.")
    return value


def check_trigger(value: Any, _: tzinfo | None) -> BaseTrigger:
    if not isinstance(value, BaseTrigger):
        raise TypeError(f"trigger must be a trigger instance, got {type(value).__name__}")
    return value


def _alias(argument: str) -> Callable[[Any, tzinfo | None], str | None]:
    def check(value: Any, _: tzinfo | None) -> str | None:
        if value is not None and not isinstance(value, str):
            raise TypeError(f"{argument} must be a string.")
        return value

    return check


def check_coalesce(value: Any, _: tzinfo | None) -> bool:
    if not isinstance(value, bool):
        raise TypeError("coalesce must be a boolean.")
    return value


def check_grace(value: Any, _: tzinfo | None) -> float | None:
    """None, or seconds: positive (else TypeError, as asyncz), finite and no longer than the
    calendar (else ValueError)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise TypeError("mistrigger_grace_time must be either None or a positive float/integer.")
    return check_seconds(value, "mistrigger_grace_time")


def check_max_instances(value: Any, _: tzinfo | None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise TypeError("max_instances must be a positive integer.")
    return check_count(value, "max_instances")


def check_next_run_time(value: Any, timezone: tzinfo | None) -> Any:
    return to_datetime(value, timezone, "next_run_time")


check_executor = _alias("executor")
check_store = _alias("store")

_VALIDATORS: dict[str, Callable[[Any, tzinfo | None], Any]] = {
    "name": check_name,
    "trigger": check_trigger,
    "executor": check_executor,
    "store_alias": check_store,
    "coalesce": check_coalesce,
    "mistrigger_grace_time": check_grace,
    "max_instances": check_max_instances,
    "next_run_time": check_next_run_time,
}


#: The version of a task's state (a record's fields) this library writes and reads.
STATE_VERSION = 1


def check_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """The values of a task's state read back from a store, checked with the checks a new
    task's are given (so that what add_task accepts and what a record may hold are one
    rule), with the function imported from ``fn_reference``.

    A record keeps the function by its reference only (``fn`` None). Raises ValueError
    naming the field.
    """
    version = state.get("version", STATE_VERSION)
    if version.__class__ is not int or not 1 <= version <= STATE_VERSION:
        raise ValueError(
            f"version {_short(version)} is not one this asyncz_like reads "
            f"(an int, 1 to {STATE_VERSION}: a newer one wrote it?)"
        )
    if state.get("fn") is not None:
        raise ValueError(
            f"fn must be null in a record (it keeps fn_reference), got {_short(state['fn'])}"
        )
    values = dict(state)
    values["id"] = _checked("id", state.get("id"), lambda value, _: check_id(value))
    for field, check in _VALIDATORS.items():
        value = state.get(field)
        if value is not None:  # None: not given, as for a new task (the defaults apply)
            values[field] = _checked(field, value, check)
    _check_stored_call(values)
    return values


def _check_stored_call(values: dict[str, Any]) -> None:
    """Import the function, check the arguments and bind them to it, as ``check_call``."""
    reference = values.get("fn_reference")
    if not isinstance(reference, str):
        raise ValueError(
            f"fn_reference must be a 'module:qualname' string, got {_short(reference)}"
        )
    bind = True
    try:
        values["fn"] = resolve_callable(reference)[0]
    except (TypeError, ValueError) as exc:
        cause = exc.__cause__
        if not isinstance(cause, LookupError):
            raise ValueError(f"fn_reference: {str(exc).removeprefix('fn: ')}") from None
        reason = _import_failure(cause)
        if not unresolved_allowed():  # gone since the record was written
            raise ValueError(f"fn_reference {reference!r} cannot be imported: {reason}") from None
        values["fn"], bind = UnresolvedFunction(reference, reason), False
    values["args"] = _checked("args", values.get("args"), lambda value, _: _as_args(value))
    kwargs = _checked("kwargs", values.get("kwargs"), lambda value, _: _as_kwargs(value))
    values["kwargs"] = kwargs
    if not bind:
        return
    try:
        check_callable_args(values["fn"], values["args"], kwargs)
    except ValueError as exc:
        raise ValueError(f"args, kwargs: {exc}") from None


def _import_failure(error: LookupError) -> str:
    """The lookup error, with the import error under it (the module that is missing)."""
    cause = error.__cause__
    return f"{error} ({type(cause).__name__}: {cause})" if cause is not None else str(error)


def _checked(field: str, value: Any, check: Callable[[Any, tzinfo | None], Any]) -> Any:
    """``check(value)``; its TypeError or ValueError as a ValueError naming ``field``."""
    try:
        return check(value, None)
    except (TypeError, ValueError) as exc:
        message = str(exc)
        if not message.startswith(field):
            message = f"{field}: {message}"
        raise ValueError(f"{message}, got {_short(value)}") from None


def _short(value: Any) -> str:
    return reprlib.repr(value)
