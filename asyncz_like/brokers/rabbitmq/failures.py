"""One dead letter for each run a state broker fails on its own, however many RabbitMQ
brokers share that state broker.

A state broker tells every failure listener of each run it ends FAILED on its own (lost
``max_deliveries`` times, unreadable). RabbitMQ brokers built on one state broker instance
(a scheduler's and a worker's in one process) that each listened would each publish a dead
letter for the same run. So each state broker gets one listener, a :class:`FailureFanOut`:
every RabbitMQ broker on it settles the wake-up it may hold for the run, and the first one
still open per dead-letter queue (RabbitMQ URL and prefix) publishes the dead letter; when
its publish fails (its connection away), the next one on that queue publishes it.

The listeners given to those RabbitMQ brokers' ``add_failure_listener`` join that one listener
too, each once: one listener given to two brokers on one state broker hears each failure once,
as it would with a state broker each.
"""

from __future__ import annotations

import threading
from weakref import WeakKeyDictionary

from asyncz_like.brokers.base import (
    BaseBroker,
    FailureListener,
    Failures,
    tell_failure_listeners,
)
from asyncz_like.brokers.rabbitmq.wakeups import End, Wakeups
from asyncz_like.runs.status import RunStatus

FAILED = RunStatus.FAILED.value
#: Where a dead letter goes: the RabbitMQ URL and the prefix of its queue.
Destination = tuple[str, str]


class FailureFanOut:
    """The one failure listener of a state broker: hands its failures to the wake-ups of
    each RabbitMQ broker on it, with a dead letter for one of them per destination, then to
    the listeners given to those brokers, each once."""

    def __init__(self, state: str) -> None:
        self._state = state  # the state broker's repr, for the log
        self._lock = threading.Lock()
        self._members: list[tuple[Destination, Wakeups]] = []
        self._listeners: tuple[FailureListener, ...] = ()

    def __repr__(self) -> str:
        return f"<the RabbitMQ brokers on {self._state}>"

    def add_listener(self, listener: FailureListener) -> None:
        """Tell ``listener`` too, unless it is told already (an equal bound method counts)."""
        with self._lock:
            if listener not in self._listeners:
                self._listeners = (*self._listeners, listener)

    def join(self, destination: Destination, wakeups: Wakeups) -> None:
        with self._lock:
            self._members.append((destination, wakeups))

    def leave(self, wakeups: Wakeups) -> None:
        with self._lock:
            self._members = [member for member in self._members if member[1] is not wakeups]

    def __call__(self, failures: Failures) -> None:
        with self._lock:
            members = list(self._members)
        dead_lettered: set[Destination] = set()
        for destination, wakeups in members:
            dead = destination not in dead_lettered
            settled = wakeups.ended_many(
                End(run_id, True, (FAILED, error) if dead else None) for run_id, error in failures
            )
            if dead and settled:
                dead_lettered.add(destination)
        tell_failure_listeners(self._listeners, failures, self)


_fan_outs: WeakKeyDictionary[BaseBroker, FailureFanOut] = WeakKeyDictionary()
_fan_outs_lock = threading.Lock()


def _fan_out(state: BaseBroker) -> FailureFanOut:
    with _fan_outs_lock:
        fan_out = _fan_outs.get(state)
        if fan_out is None:
            fan_out = _fan_outs[state] = FailureFanOut(repr(state))
            state.add_failure_listener(fan_out)
        return fan_out


def listen(state: BaseBroker, destination: Destination, wakeups: Wakeups) -> None:
    """Settle and dead-letter through ``wakeups`` the runs ``state`` fails on its own."""
    _fan_out(state).join(destination, wakeups)


def add_listener(state: BaseBroker, listener: FailureListener) -> None:
    """Tell ``listener`` once of each run ``state`` fails on its own, however many RabbitMQ
    brokers on ``state`` it was given to."""
    if not callable(listener):
        raise TypeError(f"listener must be callable, got listener={listener!r}")
    _fan_out(state).add_listener(listener)


def stop_listening(state: BaseBroker, wakeups: Wakeups) -> None:
    """``wakeups`` closes: the other RabbitMQ brokers on ``state`` dead-letter its failures."""
    with _fan_outs_lock:
        fan_out = _fan_outs.get(state)
        if fan_out is not None:
            fan_out.leave(wakeups)
