"""The envelopes of runs submitted through a broker: ``submit``'s options checked, the
function's reference found, a run id drawn. Bad input raises naming the argument.

The items of a ``submit_many`` batch mostly share their options and their function: each is
checked once per run of equal items, not once per item (checking them was about 5 of the 20
µs of CPU of a run enqueued in a batch on the memory broker), and the envelopes after the
first are made from it (:meth:`~asyncz_like.brokers.Envelope.for_call`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from types import FunctionType
from typing import Any

from asyncz_like.brokers.records import (
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_QUEUE,
    Envelope,
    check_target,
)
from asyncz_like.callable_cache import CallableCache
from asyncz_like.ids import random_hex_id
from asyncz_like.runs.backoff import Backoff
from asyncz_like.runs.options import parse_options, resolve_due
from asyncz_like.schedulers.submit_items import Call
from asyncz_like.utils import get_callable_name, obj_to_ref, ref_to_obj

#: ``submit`` options that only the in-process engine honours.
LOCAL_ONLY = ("retry_on", "executor")
_UNSEEN: Any = object()
#: The reference and name of each function submitted (obj_to_ref and get_callable_name took
#: 0.75 µs a submit; a look-up and ref_to_obj's check 0.25).
_REFERENCES: CallableCache[tuple[str, str]] = CallableCache()


def reference_of(fn: Callable[..., Any] | str) -> tuple[str, str]:
    """The ``module:qualname`` a worker in another process imports, and a name for the
    run; a lambda, closure, partial or bound method raises ValueError naming ``fn``."""
    if isinstance(fn, str):
        check_target(fn)  # the form only: the worker imports it
        return fn, fn.rsplit(":", 1)[-1]
    known = _REFERENCES.get(fn) if type(fn) is FunctionType else None
    if known is not None and _still_found(known[0], fn):
        return known
    if not callable(fn):
        raise TypeError(f"fn must be a callable or a 'module:qualname' string, got {fn!r}")
    try:
        found = obj_to_ref(fn), get_callable_name(fn)
    except ValueError as exc:
        raise ValueError(
            f"fn={fn!r}: a run sent through a broker needs a function importable by "
            f"reference (a module-level function, not a lambda or closure): {exc}"
        ) from None
    if type(fn) is FunctionType:
        _REFERENCES.put(fn, found)
    return found


def _still_found(reference: str, fn: Callable[..., Any]) -> bool:
    """Whether ``reference`` still finds ``fn`` (its module was not reloaded, its name not
    bound to another object), as obj_to_ref checks."""
    try:
        return ref_to_obj(reference) is fn
    except Exception:  # the module is gone: obj_to_ref says why
        return False


@dataclass(slots=True)  # not frozen: one per single submit, and frozen fields cost 0.5 µs
class CheckedOptions:
    """The options of runs submitted at ``now``, checked: what their envelopes share.
    ``headers`` is copied into each envelope (which refuses what is not a mapping of
    strings). The first envelope made is the template of the others."""

    now: datetime
    queue: str
    priority: int
    due: datetime | None
    max_retries: int
    backoff: Backoff
    timeout: float | None
    name: str | None
    max_deliveries: int
    headers: Any
    template: Envelope | None = None

    @classmethod
    def of(cls, options: Mapping[str, Any], now: datetime, timezone: tzinfo) -> CheckedOptions:
        """``options`` checked (but not those of the in-process engine: see LOCAL_ONLY)."""
        parsed = parse_options(
            options.get("name"),
            options.get("priority", 0),
            options.get("timeout"),
            options.get("max_retries", 0),
            options.get("retry_backoff", 1.0),
        )
        max_deliveries = options.get("max_deliveries")
        return cls(
            now=now,
            queue=options.get("queue") or DEFAULT_QUEUE,
            priority=parsed.priority,
            due=resolve_due(options.get("delay"), options.get("schedule_at"), now, timezone),
            max_retries=parsed.max_retries,
            backoff=parsed.backoff,
            timeout=parsed.timeout,
            name=parsed.name,
            max_deliveries=DEFAULT_MAX_DELIVERIES if max_deliveries is None else max_deliveries,
            headers=options.get("headers"),
        )

    def envelope(
        self, target: str, fn_name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Envelope:
        """The envelope of one run, with a new run id."""
        if self.template is not None:  # the shared fields are checked: see Envelope.for_call
            return self.template.for_call(
                random_hex_id(), target, args, kwargs, self.name or fn_name
            )
        headers = self.headers
        self.template = Envelope(
            run_id=random_hex_id(),
            target=target,
            args=args,
            kwargs=kwargs,
            queue=self.queue,
            priority=self.priority,
            due=self.due,
            max_retries=self.max_retries,
            retry_backoff=self.backoff,
            timeout=self.timeout,
            max_deliveries=self.max_deliveries,
            name=self.name or fn_name,
            headers={} if headers is None else dict(headers) if isinstance(headers, Mapping)
            else headers,
            created_at=self.now,
        )  # fmt: skip
        return self.template


def make_envelopes(calls: Iterable[Call], now: datetime, timezone: tzinfo) -> list[Envelope]:
    """The envelopes of ``calls`` (whose arguments, a tuple and a dict each, are the
    callers' own: not copied), in order; the first bad one raises, naming the argument.

    Options are checked again only when an item's options are not the same object as the
    previous item's, a function's reference only when its function is not."""
    made: list[Envelope] = []
    seen_fn: Any = _UNSEEN
    seen_options: Any = _UNSEEN
    checked: CheckedOptions | None = None
    target = fn_name = ""
    for fn, args, kwargs, options in calls:
        fresh = options is not seen_options
        if fresh:
            for name in LOCAL_ONLY:
                if options.get(name) is not None:
                    raise TypeError(f"{name} is not supported for runs sent through a broker")
        if fn is not seen_fn:
            target, fn_name = reference_of(fn)
            seen_fn = fn
        if fresh or checked is None:
            checked = CheckedOptions.of(options, now, timezone)
            seen_options = options
        made.append(checked.envelope(target, fn_name, args, kwargs))
    return made
