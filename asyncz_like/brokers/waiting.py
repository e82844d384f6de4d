"""The wait shared by the brokers' waiters that hold a connection of their own (PostgreSQL's
LISTEN, Redis's subscription): one thread waits at a time, and a failed connection is dropped,
logged, and reported as "work may be waiting" after a pause, so that the caller claims (and
polls) while the connection is away. An interrupt (a worker stopping) ends the wait going on,
or the next one, at once: it is a flag, and an empty message sent on the connection's channel
(which names no queue: the other waiters read past it) wakes the wait blocked on its socket."""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod


class ConnectionWaiter(ABC):
    """A waiter on a connection opened on its first wait; subclasses wait on it and close it."""

    channel: str
    poll_interval: float
    logger: logging.Logger
    #: The warning logged when a wait fails (arguments: the channel, the error).
    failure_message = "Waiting for work on channel %s failed: %r"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flag = threading.Condition()
        self._interrupted = False

    def wait(self, queues: tuple[str, ...], timeout: float) -> bool:
        """True when work may be waiting in ``queues``, False after ``timeout`` seconds or
        when interrupted."""
        if not self._lock.acquire(timeout=timeout):  # another thread waits: it will claim
            return False
        try:
            if self.take_interrupt():
                return False
            return self._wait_connected(queues, timeout)
        except Exception as error:  # the connection is lost: the caller claims (and polls)
            self.logger.warning(
                self.failure_message, self.channel, error, extra={"channel": self.channel}
            )
            self._close()
            return not self._pause(min(timeout, self.poll_interval))
        finally:
            self._lock.release()

    def interrupt(self) -> None:
        """End the wait going on (or the next) at once: it returns False."""
        with self._flag:
            self._interrupted = True
            self._flag.notify_all()
        if self._lock.locked():  # a wait may be blocked on its socket
            try:
                self._send_interrupt()
            except Exception as error:  # the wait ends with its connection's failure
                self.logger.debug(
                    "Interrupting the wait on channel %s failed: %r", self.channel, error
                )

    def take_interrupt(self) -> bool:
        """Whether the wait was interrupted (consuming the interrupt)."""
        with self._flag:
            interrupted, self._interrupted = self._interrupted, False
        return interrupted

    def interrupt_pending(self) -> bool:
        with self._flag:
            return self._interrupted

    def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True (consumed) when interrupted meanwhile."""
        with self._flag:
            self._flag.wait_for(lambda: self._interrupted, seconds)
        return self.take_interrupt()

    @abstractmethod
    def _wait_connected(self, queues: tuple[str, ...], timeout: float) -> bool:
        """``wait`` on the connection, opening it when there is none; False as soon as
        :meth:`take_interrupt` says so after a message."""

    @abstractmethod
    def _send_interrupt(self) -> None:
        """Send the empty message on the channel that wakes a wait blocked on its socket."""

    @abstractmethod
    def _close(self) -> None:
        """Drop the connection (a broken one too); the next wait opens another."""

    def close(self) -> None:
        self.interrupt()  # a wait going on ends now rather than at its timeout
        with self._lock:
            self._close()
