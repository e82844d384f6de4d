"""Helpers that asyncz exposes under the same names: times, zones, references, callables."""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, tzinfo
from importlib import import_module
from types import FunctionType
from typing import Any

from tzlocal import get_localzone

from asyncz_like.callable_cache import CallableCache, Shape, call_key
from asyncz_like.conversions import (
    datetime_ceil,
    datetime_to_utc_timestamp,
    timedelta_seconds,
    to_float,
    to_int,
    utc_timestamp_to_datetime,
)
from asyncz_like.exceptions import AsynczLikeError
from asyncz_like.limits import check_count, check_time
from asyncz_like.signatures import call_mismatch
from asyncz_like.zones import is_pytz, normalize_timezone, to_timezone, to_zone

__all__ = [
    "check_callable_args",
    "datetime_ceil",
    "datetime_repr",
    "datetime_to_utc_timestamp",
    "get_callable_name",
    "get_local_timezone",
    "is_coroutine_callable",
    "make_async_function",
    "make_function",
    "maybe_ref",
    "normalize_timezone",
    "obj_to_ref",
    "ref_to_obj",
    "timedelta_seconds",
    "to_datetime",
    "to_float",
    "to_int",
    "to_timezone",
    "to_zone",
    "utc_now",
    "utc_timestamp_to_datetime",
]


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def get_local_timezone() -> tzinfo:
    """The machine's local zone, as this module's ``get_localzone`` (tzlocal's) gives it.

    Looked up at each call through the module attribute, as asyncz does, so that it can be
    replaced (tests, embedding apps). A pytz zone is kept as given; tzlocal's zoneinfo
    subclasses become plain zoneinfo objects.
    """
    zone = get_localzone()
    return zone if is_pytz(zone) else normalize_timezone(zone)


def to_datetime(
    value: str | date | datetime | None,
    tz: tzinfo | str | None,
    arg_name: str,
    require_tz: bool = True,
) -> datetime | None:
    """Turn a datetime, date or ISO string into an aware datetime.

    A naive value is placed in ``tz``; without ``tz`` that is an error when ``require_tz``.
    A time outside the calendar (:func:`asyncz_like.limits.check_time`) is a ValueError.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        result = value
    elif isinstance(value, date):
        result = datetime.combine(value, datetime.min.time())
    elif isinstance(value, str):
        result = _parse_iso(value, arg_name)
    else:
        raise InvalidTimeError(f"Unsupported type for {arg_name}: {type(value).__name__}.")
    check_time(result, arg_name)
    if result.tzinfo is not None:
        return _with_normalized_zone(result)
    zone = to_zone(tz)
    if zone is None:
        if require_tz:
            raise MissingTimezoneError(
                f'The "tz" argument must be specified if {arg_name} has no timezone information'
            )
        return result
    return check_time(result.replace(tzinfo=zone), arg_name)


class InvalidTimeError(AsynczLikeError, TypeError):
    """``to_datetime`` was given something that is not a date, datetime or string."""


class InvalidDateStringError(AsynczLikeError, ValueError):
    """``to_datetime`` was given a string that is not an ISO 8601 date or datetime."""


class MissingTimezoneError(AsynczLikeError, ValueError):
    """A naive time was given where no time zone says which instant it means."""


def _with_normalized_zone(value: datetime) -> datetime:
    """``value`` with its zone normalized, keeping the instant of a pytz-localized time.

    In the repeated hour of autumn, a pytz time may be the second occurrence, which the
    zoneinfo equivalent expresses with ``fold=1``. A pytz zone attached with ``replace()``
    (whose offset is the zone's first, LMT, offset) is read as a wall time in the zone.
    """
    zone = normalize_timezone(value.tzinfo)  # type: ignore[arg-type]
    if zone is value.tzinfo:
        return value
    first = value.replace(tzinfo=zone, fold=0)
    second = first.replace(fold=1)
    if first.utcoffset() != value.utcoffset() and second.utcoffset() == value.utcoffset():
        return second
    return first


def _parse_iso(value: str, arg_name: str) -> datetime:
    text = value.strip()
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        pass
    match = _LOOSE_DATE.fullmatch(text)  # asyncz's form: fields need no leading zeros
    if match is None:
        raise InvalidDateStringError(f"Invalid date string for {arg_name}: {value!r}")
    year, month, day, hour, minute, second = (
        int(match.group(name) or 0) for name in ("year", "month", "day", "hour", "minute", "second")
    )
    fraction = (match.group("fraction") or "0").ljust(6, "0")
    zone_text = (match.group("zone") or "").replace("Z", "+00:00")
    try:
        parsed = datetime(year, month, day, hour, minute, second, int(fraction))
        if zone_text:  # the offset, read by the standard parser
            parsed = parsed.replace(
                tzinfo=datetime.fromisoformat("2000-01-01T00:00" + zone_text).tzinfo
            )
    except ValueError:
        raise InvalidDateStringError(f"Invalid date string for {arg_name}: {value!r}") from None
    return parsed


_LOOSE_DATE = re.compile(
    r"(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})"
    r"(?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})"
    r"(?:\.(?P<fraction>\d{1,6}))?(?P<zone>Z|[+-]\d\d:\d\d)?)?"
)


def datetime_repr(value: datetime | None) -> str:
    """A short readable form of a datetime, or ``None``."""
    return value.strftime("%Y-%m-%d %H:%M:%S %Z") if value else "None"


def get_callable_name(func: Callable[..., Any]) -> str:
    """The best readable name of a callable: qualified name, class name or ``__call__`` owner."""
    if isinstance(func, functools.partial):
        return get_callable_name(func.func)
    name = getattr(func, "__qualname__", None) or getattr(func, "__name__", None)
    if name:
        return str(name)
    if hasattr(func, "__call__"):  # noqa: B004  # instances with __call__
        return type(func).__qualname__
    raise TypeError(f"Unable to determine a name for {func!r}")


def obj_to_ref(obj: Any) -> str:
    """The ``module:qualname`` reference of an importable object.

    Raises ValueError for objects that cannot be found again by that reference (lambdas,
    closures, bound methods of instances, partials).
    """
    if isinstance(obj, functools.partial):
        raise ValueError("Cannot create a reference to a partial()")
    name = get_callable_name(obj)
    if "<lambda>" in name:
        raise ValueError("Cannot create a reference to a lambda")
    if "<locals>" in name:
        raise ValueError("Cannot create a reference to a nested function")
    module = getattr(obj, "__module__", None)
    if inspect.ismethod(obj):
        owner = obj.__self__
        if isinstance(owner, type):
            module = owner.__module__
            name = f"{owner.__qualname__}.{obj.__name__}"
        else:
            raise ValueError("Cannot create a reference to a bound method of an instance")
    if not module:
        raise ValueError(f"Cannot determine the module of {obj!r}")
    ref = f"{module}:{name}"
    try:
        found = ref_to_obj(ref)
    except (ImportError, LookupError):
        found = None
    if found is not obj and found != obj:
        raise ValueError(f"Cannot create a reference to {obj!r}: {ref!r} finds another object")
    return ref


def ref_to_obj(ref: str) -> Any:
    """Import and return the object a ``module:qualname`` reference names."""
    if not isinstance(ref, str):
        raise TypeError("References must be strings")
    # A record's function and trigger class, at every decode: remembered while the module is
    # the one imported and holds that very object under that name (not reloaded, replaced).
    found = _RESOLVED.get(ref)
    if found is not None:
        held_name, held_module, held_namespace, held_key, held = found
        if sys.modules.get(held_name) is held_module and held_namespace.get(held_key) is held:
            return held
    if ":" not in ref:
        raise InvalidReferenceError(f"Invalid reference {ref!r}: expected 'module:qualname'")
    module_name, rest = ref.split(":", 1)
    try:
        # sys.modules first: the import system's locks cost more than the rest of a lookup
        obj: Any = sys.modules.get(module_name) or import_module(module_name)
    except ImportError as exc:
        raise LookupError(f"Error resolving reference {ref!r}: could not import module") from exc
    module = obj
    try:
        for name in rest.split("."):
            obj = getattr(obj, name)
    except Exception as exc:
        raise LookupError(f"Error resolving reference {ref!r}: error looking up object") from exc
    namespace: Any = getattr(module, "__dict__", None)
    if (
        "." not in rest  # a module-level name: the check above is then the whole lookup
        and isinstance(namespace, dict)
        and namespace.get(rest) is obj
        and len(_RESOLVED) < _MAX_RESOLVED
    ):
        _RESOLVED[ref] = (module_name, module, namespace, rest, obj)
    return obj


class InvalidReferenceError(AsynczLikeError, ValueError):
    """A reference is not of the form ``module:qualname``."""


def maybe_ref(ref: Any) -> Any:
    """The object a ``module:qualname`` string names; anything else as given."""
    return ref_to_obj(ref) if isinstance(ref, str) else ref


#: ``module:name`` references resolved: (module name, module, its namespace, name, object).
#: An entry is used while ``sys.modules`` has that module and it holds that very object.
_RESOLVED: dict[str, tuple[str, Any, dict[str, Any], str, Any]] = {}
_MAX_RESOLVED = 4096


#: Signatures of callables (inspect.signature costs tens of µs; most tasks share functions).
_SIGNATURES: CallableCache[inspect.Signature] = CallableCache()
#: The (number of positional args, keyword names) with which a callable binds: binding
#: depends on nothing else, and many tasks share a function and the shape of its arguments.
_BINDS: CallableCache[set[Shape]] = CallableCache()


def _signature(func: Callable[..., Any]) -> inspect.Signature | None:
    signature = _SIGNATURES.get(func)
    if signature is None:
        try:
            # Not through __wrapped__: the wrapper is what gets called, with its own signature.
            signature = inspect.signature(func, follow_wrapped=False)
        except (ValueError, TypeError):  # builtins without a signature, odd callables
            return None
        _SIGNATURES.put(func, signature)
    return signature


def check_callable_args(
    func: Callable[..., Any], args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]
) -> None:
    """Raise ValueError when ``func`` cannot be called with ``args`` and ``kwargs``."""
    target, shape = call_key(func, len(args), tuple(kwargs))
    known = _BINDS.get(target)
    if known is not None and shape in known:
        return
    signature = _signature(target)
    if signature is None:
        return  # nothing to check against (e.g. generator.send); make_function() gives one
    # A bound method is checked as its function called with its object first.
    first = () if target is func else (func.__self__,)  # type: ignore[attr-defined]
    try:
        signature.bind(*first, *args, **kwargs)
    except TypeError as exc:
        problem = call_mismatch(_signature(func) or signature, args, kwargs)
        raise ValueError(
            problem
            or f"The arguments do not match the signature of {get_callable_name(func)}: {exc}"
        ) from None
    if known is None:
        _BINDS.put(target, {shape})
    else:
        known.add(shape)


def as_positive_int(value: Any, argument: str) -> int:
    """``value`` as an int >= 1 (strings from config files too); ValueError naming ``argument``."""
    if isinstance(value, bool):
        raise ValueError(f"{argument}: expected a positive integer, got {value!r}")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an infinite float
        raise ValueError(f"{argument}: expected a positive integer, got {value!r}") from None
    if number < 1 or (isinstance(value, float) and value != number):
        raise ValueError(f"{argument}: expected a positive integer, got {value!r}")
    return check_count(number, argument)


def make_function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a callable without an inspectable signature (``generator.send``) in a plain function."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = getattr(fn, "__name__", "function")
    return wrapper


def make_async_function(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Like :func:`make_function` for awaitables (``async_generator.asend``)."""

    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        return await fn(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = getattr(fn, "__name__", "function")
    return wrapper


def is_coroutine_callable(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` returns a coroutine (looks through partials and __call__).
    Asked on every fire: the answer is cached for plain functions."""
    if type(fn) is FunctionType:
        cached = _COROUTINE_FUNCTIONS.lasting.get(fn)  # module-level functions: one lookup
        if cached is None:
            cached = _COROUTINE_FUNCTIONS.get(fn)
            if cached is None:
                cached = _is_coroutine_callable(fn)
                _COROUTINE_FUNCTIONS.put(fn, cached)
        return cached
    return _is_coroutine_callable(fn)


#: Plain functions by whether they are coroutine functions.
_COROUTINE_FUNCTIONS: CallableCache[bool] = CallableCache()


def _is_coroutine_callable(fn: Callable[..., Any]) -> bool:
    while isinstance(fn, functools.partial):  # not any object with a .func: a Mock has one
        fn = fn.func
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004
    return call is not None and inspect.iscoroutinefunction(call)
