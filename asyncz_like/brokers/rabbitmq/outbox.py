"""Items handed in by any thread and taken out, in order, by one: the wake-ups a caller
hands to the connection's thread without waiting for them to be published.

The first item put in an empty outbox tells its putter to wake the taker; later ones ride
along with it, so a burst of enqueues costs one hand-off and one publishing round. At most
``limit`` items wait: past it, new ones are refused (a connection that cannot keep up must
not make the process grow without bound).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class OutboxFull(Exception):
    """The items would pass the outbox's limit; none was added. ``first``: the first refusal
    since the outbox was last taken (worth a log line; the next ones are not)."""

    def __init__(self, waiting: int, first: bool) -> None:
        super().__init__(f"{waiting} items wait already")
        self.waiting = waiting
        self.first = first


class Outbox(Generic[T]):
    """A bounded, thread-safe line of items, taken all at once."""

    def __init__(self, limit: int) -> None:
        if not isinstance(limit, int) or limit < 1:
            raise ValueError(f"limit must be a positive int, got limit={limit!r}")
        self.limit = limit
        self._lock = threading.Lock()
        self._items: list[T] = []
        self._refused = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, items: list[T]) -> bool:
        """Add ``items`` after those waiting; True when none waited (the taker must be told).
        Raises :class:`OutboxFull`, adding nothing, when more than ``limit`` would wait."""
        with self._lock:
            waiting = len(self._items)
            if waiting + len(items) > self.limit:
                first, self._refused = not self._refused, True
                raise OutboxFull(waiting, first)
            self._items.extend(items)
            return waiting == 0

    def take(self) -> list[T]:
        """Every item waiting, in the order put, leaving the outbox empty."""
        with self._lock:
            items, self._items = self._items, []
            self._refused = False
            return items
