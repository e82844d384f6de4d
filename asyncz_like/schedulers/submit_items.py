"""The items of ``submit_many``: each read into ``(fn, args, kwargs, options)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asyncz_like.runs.options import OPTION_NAMES

#: The options of ``submit`` (``queue``: with a broker).
SUBMIT_OPTION_NAMES = OPTION_NAMES | {"queue", "max_deliveries", "headers"}

Call = tuple[Any, tuple[Any, ...], dict[str, Any], Mapping[str, Any]]


def submit_item(item: Any, index: int, defaults: Mapping[str, Any]) -> Call:
    """``fn``, ``(fn, args)``, ``(fn, args, kwargs)`` or ``{"fn": ..., "args": ...,
    "kwargs": ..., **options}``; TypeError naming ``items[index]`` otherwise. The options
    are ``defaults`` itself (not a copy) when the item sets none of its own: the scheduler
    checks them once for all such items."""
    options = defaults
    # a tuple is no Mapping: the common item skips that check (an ABC's, 0.3 µs)
    if type(item) is not tuple and isinstance(item, Mapping):
        item = dict(item)
        if "fn" not in item:
            raise TypeError(f"items[{index}]: a dict item needs 'fn', got keys {sorted(item)}")
        fn, args, kwargs = item.pop("fn"), item.pop("args", ()), item.pop("kwargs", {})
        if item:
            unknown = set(item) - SUBMIT_OPTION_NAMES
            if unknown:
                raise TypeError(f"items[{index}]: unknown option(s) {sorted(unknown)}")
            options = {**defaults, **item}
    elif isinstance(item, tuple):
        if not 1 <= len(item) <= 3:
            raise TypeError(f"items[{index}]: a tuple item is (fn, args) or (fn, args, kwargs)")
        fn = item[0]
        args = item[1] if len(item) > 1 else ()
        kwargs = item[2] if len(item) > 2 else {}
    else:
        fn, args, kwargs = item, (), {}
    if not isinstance(args, tuple | list):
        raise TypeError(f"items[{index}]: args must be a tuple or a list, got {args!r}")
    if type(kwargs) is not dict and not isinstance(kwargs, Mapping):
        raise TypeError(f"items[{index}]: kwargs must be a dict, got {kwargs!r}")
    return fn, tuple(args), dict(kwargs), options
