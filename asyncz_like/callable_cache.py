"""A cache of facts about callables (a signature, whether a call binds, whether it is a
coroutine function) that never keeps a callable alive longer than its user does."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any, Generic, TypeVar

V = TypeVar("V")
#: The shape of a call: (number of positional arguments, keyword names).
Shape = tuple[int, tuple[str, ...]]


class CallableCache(Generic[V]):
    """Values by callable.

    A function that its module holds (found again by its qualified name) lives as long as
    the process anyway, so it is held here as a plain key: ``lasting`` is that dict, for hot
    paths to read first. Any other callable (a closure or a lambda made at run time, a
    partial, a callable instance) is held weakly: its entry goes with it, so that what it
    holds (a request, a connection) is not kept for the cache's sake. A callable that is
    unhashable or takes no weak reference is not cached. Bound methods die as soon as the
    attribute is read: callers key them by their function (``__func__``).
    """

    __slots__ = ("_weak", "lasting")

    def __init__(self) -> None:
        self.lasting: dict[Callable[..., Any], V] = {}
        self._weak: weakref.WeakKeyDictionary[Callable[..., Any], V] = weakref.WeakKeyDictionary()

    def get(self, fn: Callable[..., Any]) -> V | None:
        try:
            value = self.lasting.get(fn)
            return self._weak.get(fn) if value is None else value
        except TypeError:  # unhashable, or no weak reference to it
            return None

    def put(self, fn: Callable[..., Any], value: V) -> None:
        try:
            if type(fn) is FunctionType and held_by_its_module(fn):
                self.lasting[fn] = value
            else:
                self._weak[fn] = value
        except TypeError:  # unhashable, or no weak reference to it: not cached
            pass

    def __len__(self) -> int:
        return len(self.lasting) + len(self._weak)


def held_by_its_module(fn: FunctionType) -> bool:
    """Whether ``fn`` is what its module gives for its qualified name (a module-level
    function, a method defined in a module-level class)."""
    found: Any = sys.modules.get(fn.__module__)
    try:
        for name in fn.__qualname__.split("."):
            if found is None:
                return False
            found = getattr(found, name, None)
    except Exception:  # a module's __getattr__ or a descriptor that raises
        return False
    return found is fn


def call_key(
    fn: Callable[..., Any], positional: int, keywords: tuple[str, ...]
) -> tuple[Callable[..., Any], Shape]:
    """What a cache keys a call of ``fn`` by: ``fn`` and the call's shape; for a bound method,
    its function, with its object counted as the first positional argument (the method
    object dies at once, and must not keep its object alive)."""
    if fn.__class__ is MethodType:
        return fn.__func__, (positional + 1, keywords)
    return fn, (positional, keywords)
