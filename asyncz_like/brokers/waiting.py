"""The wait shared by the brokers' waiters that hold a connection of their own (PostgreSQL's
LISTEN, Redis's subscription): one thread waits at a time, and a failed connection is dropped,
logged, and reported as "work may be waiting" after a pause, so that the caller claims (and
polls) while the connection is away."""

from __future__ import annotations

import logging
import threading
import time
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

    def wait(self, queues: tuple[str, ...], timeout: float) -> bool:
        """True when work may be waiting in ``queues``, False after ``timeout`` seconds."""
        if not self._lock.acquire(timeout=timeout):  # another thread waits: it will claim
            return False
        try:
            return self._wait_connected(queues, timeout)
        except Exception as error:  # the connection is lost: the caller claims (and polls)
            self.logger.warning(
                self.failure_message, self.channel, error, extra={"channel": self.channel}
            )
            self._close()
            time.sleep(min(timeout, self.poll_interval))
            return True
        finally:
            self._lock.release()

    @abstractmethod
    def _wait_connected(self, queues: tuple[str, ...], timeout: float) -> bool:
        """``wait`` on the connection, opening it when there is none."""

    @abstractmethod
    def _close(self) -> None:
        """Drop the connection (a broken one too); the next wait opens another."""

    def close(self) -> None:
        with self._lock:
            self._close()
