"""Listeners with masks; events are built only when somebody listens for their code."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from asyncz_like.events.base import SchedulerEvent
from asyncz_like.events.constants import ALL_EVENTS
from asyncz_like.utils import is_coroutine_callable

Listener = Callable[[Any], Any]


class EventDispatcher:
    """Holds listeners and calls those whose mask matches an event's code.

    ``wants(code)`` is a cheap check so that the hot path builds no event object that
    nobody will receive.
    """

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._lock = threading.Lock()
        self._listeners: tuple[tuple[Listener, int], ...] = ()
        self._mask = 0

    def add(self, callback: Listener, mask: int = ALL_EVENTS) -> None:
        if not callable(callback):
            raise TypeError("callback must be callable")
        if is_coroutine_callable(callback):
            raise TypeError(
                "callback must be a plain function: listeners run in the thread that emits the "
                "event; schedule async work from it with loop.call_soon_threadsafe"
            )
        with self._lock:
            self._listeners = (*self._listeners, (callback, mask))
            self._mask |= mask

    def remove(self, callback: Listener) -> None:
        with self._lock:
            kept = tuple(item for item in self._listeners if item[0] != callback)
            if len(kept) == len(self._listeners):
                raise KeyError("This callback is not registered as a listener")
            self._listeners = kept
            self._mask = 0
            for _, mask in kept:
                self._mask |= mask

    @property
    def logger(self) -> logging.Logger:
        return self._logger

    def listeners(self) -> tuple[tuple[Listener, int], ...]:
        """The ``(callback, mask)`` pairs, in the order they were added."""
        return self._listeners

    def wants(self, code: int) -> bool:
        return bool(self._mask & code)

    def dispatch(self, event: SchedulerEvent) -> None:
        """Call every matching listener; a listener that raises is logged, never propagated."""
        for callback, mask in self._listeners:
            if event.code & mask:
                try:
                    callback(event)
                except Exception:
                    self._logger.exception(
                        "Error notifying listener", extra={"event_code": event.code}
                    )


class ForwardingDispatcher(EventDispatcher):
    """A dispatcher whose events also go to ``also``'s listeners: a scheduler's embedded
    worker keeps listeners of its own, and the scheduler's listeners hear its runs too."""

    def __init__(self, logger: logging.Logger, also: EventDispatcher) -> None:
        super().__init__(logger)
        self._also = also

    def wants(self, code: int) -> bool:
        return bool(self._mask & code) or self._also.wants(code)

    def dispatch(self, event: SchedulerEvent) -> None:
        super().dispatch(event)
        self._also.dispatch(event)
