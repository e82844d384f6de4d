"""One AMQP connection owned by one thread, which every other thread calls through.

pika's ``BlockingConnection`` is not thread-safe; its one thread-safe method is
``add_callback_threadsafe``. So a daemon thread owns the connection and its channel, spins
``process_data_events`` (which also runs the consumers' callbacks), and any thread hands it
a function of the channel to run there: ``call`` waits for the answer, ``post`` does not.
Both run in the order handed in (pika runs its thread-safe callbacks first in, first out).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from asyncz_like.exceptions import MissingDependencyError

T = TypeVar("T")
logger = logging.getLogger("asyncz_like.brokers.rabbitmq")
#: How long a caller waits for the connection's thread to do its call.
CALL_TIMEOUT = 30.0
#: How often the owner thread looks up from the socket (a stop request is seen this fast).
SPIN_SECONDS = 0.2
#: After a failed connect, calls fail at once for this long instead of each waiting for a
#: connect timeout (a worker keeps claiming through its state broker meanwhile).
RECONNECT_AFTER = 2.0


class StillUnreachable(ConnectionError):
    """The last connect failed less than RECONNECT_AFTER seconds ago (logged then)."""


class OwnedConnection:
    """An AMQP connection and its channel, used only by their own thread.

    ``on_open(channel)`` runs in that thread after each connect (declare, consume again),
    ``after_events(channel)`` after each round of events (the consumers' callbacks and the
    calls handed in), ``before_close(channel)`` when :meth:`close` closes a connection
    still open (what was handed in goes out first).
    """

    def __init__(
        self,
        url: str,
        on_open: Callable[[Any], None],
        name: str,
        after_events: Callable[[Any], None] | None = None,
        before_close: Callable[[Any], None] | None = None,
    ) -> None:
        try:
            import pika
        except ImportError:
            raise MissingDependencyError("pika", "rabbitmq") from None
        self._parameters = pika.URLParameters(url)
        self._on_open = on_open
        self._after_events = after_events
        self._before_close = before_close
        self._name = name
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._connection: Any = None
        self._channel: Any = None
        self._closing = False
        self._failed_at = -RECONNECT_AFTER

    def call(self, work: Callable[[Any], T]) -> T:
        """``work(channel)`` run in the connection's thread; its result or its error."""
        if threading.current_thread() is self._thread:
            return work(self._channel)
        connection = self._ensure_open()
        done: Future[T] = Future()

        def run() -> None:
            try:
                done.set_result(work(self._channel))
            except BaseException as error:  # handed to the caller, not lost in the thread
                done.set_exception(error)

        connection.add_callback_threadsafe(run)
        return done.result(CALL_TIMEOUT)

    def post(self, work: Callable[[Any], None]) -> None:
        """Hand ``work(channel)`` to the connection's thread and return without waiting (the
        connection is opened first if it is not). ``work`` handles its own errors; one it
        lets out is logged. A connection lost before ``work`` ran never runs it: what it was
        to do must also be picked up by ``on_open`` of the next connection."""
        if threading.current_thread() is self._thread:
            _run_logged(work, self._channel, self._name)
            return
        self._ensure_open().add_callback_threadsafe(
            lambda: _run_logged(work, self._channel, self._name)
        )

    def ensure_open(self) -> None:
        """Open the connection if it is not (as ``call`` and ``post`` do): then its
        ``on_open`` runs in its thread."""
        self._ensure_open()

    def _ensure_open(self) -> Any:
        with self._lock:
            if self._closing:
                raise RuntimeError(f"{self._name}: the connection is closed")
            if self._thread is None or not self._thread.is_alive():
                if time.monotonic() - self._failed_at < RECONNECT_AFTER:
                    raise StillUnreachable(f"{self._name}: RabbitMQ was unreachable just now")
                opened: Future[Any] = Future()
                self._thread = threading.Thread(
                    target=self._own, args=(opened,), name=self._name, daemon=True
                )
                self._thread.start()
                try:
                    self._connection = opened.result(CALL_TIMEOUT)
                except BaseException:
                    self._failed_at = time.monotonic()
                    raise
            return self._connection

    def _own(self, opened: Future[Any]) -> None:
        import pika

        try:
            connection = pika.BlockingConnection(self._parameters)
            self._channel = connection.channel()
            self._on_open(self._channel)
        except BaseException as error:
            opened.set_exception(error)
            return
        opened.set_result(connection)
        try:
            while not self._closing and connection.is_open:
                connection.process_data_events(time_limit=SPIN_SECONDS)
                if self._after_events is not None:
                    self._after_events(self._channel)
            if self._before_close is not None and connection.is_open:
                self._before_close(self._channel)
        except Exception:  # a lost connection: the next call opens a new one
            return
        finally:
            _close(connection)

    def close(self) -> None:
        """Close the connection (its unacked messages go back to their queues)."""
        with self._lock:
            self._closing = True
            thread, connection = self._thread, self._connection
        if thread is not None and thread.is_alive():
            with contextlib.suppress(Exception):  # wake it from its spin
                connection.add_callback_threadsafe(lambda: None)
            thread.join(CALL_TIMEOUT)


def _run_logged(work: Callable[[Any], None], channel: Any, name: str) -> None:
    try:
        work(channel)
    except Exception:  # raised into pika's loop, it would end the connection
        logger.exception(
            "%s: work handed to the connection's thread failed", name, extra={"connection": name}
        )


def _close(connection: Any) -> None:
    try:
        if connection.is_open:
            connection.close()
            return
    except Exception:  # lost midway; pika then leaves its wake-up socket pair open
        pass
    with contextlib.suppress(Exception):
        connection._impl.ioloop.close()  # noqa: SLF001
