"""The items of ``submit_many``: each read into ``(fn, args, kwargs, options)``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asyncz_like.runs.options import OPTION_NAMES

#: The options of ``submit`` (``queue``: with a broker).
SUBMIT_OPTION_NAMES = OPTION_NAMES | {"queue", "max_deliveries", "headers"}

Call = tuple[Any, tuple[Any, ...], dict[str, Any], dict[str, Any]]


def submit_item(item: Any, index: int, defaults: Mapping[str, Any]) -> Call:
    """``fn``, ``(fn, args)``, ``(fn, args, kwargs)`` or ``{"fn": ..., "args": ...,
    "kwargs": ..., **options}``; TypeError naming ``items[index]`` otherwise."""
    where = f"items[{index}]"
    options = dict(defaults)
    if isinstance(item, Mapping):
        item = dict(item)
        if "fn" not in item:
            raise TypeError(f"{where}: a dict item needs 'fn', got keys {sorted(item)}")
        fn, args, kwargs = item.pop("fn"), item.pop("args", ()), item.pop("kwargs", {})
        unknown = set(item) - SUBMIT_OPTION_NAMES
        if unknown:
            raise TypeError(f"{where}: unknown option(s) {sorted(unknown)}")
        options.update(item)
    elif isinstance(item, tuple):
        if not 1 <= len(item) <= 3:
            raise TypeError(f"{where}: a tuple item is (fn, args) or (fn, args, kwargs)")
        fn = item[0]
        args = item[1] if len(item) > 1 else ()
        kwargs = item[2] if len(item) > 2 else {}
    else:
        fn, args, kwargs = item, (), {}
    if not isinstance(args, tuple | list):
        raise TypeError(f"{where}: args must be a tuple or a list, got {args!r}")
    if not isinstance(kwargs, Mapping):
        raise TypeError(f"{where}: kwargs must be a dict, got {kwargs!r}")
    return fn, tuple(args), dict(kwargs), options
