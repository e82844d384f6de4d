"""The delivery tags of one channel not yet settled, settled in as few frames as it allows.

Each ``basic_ack`` of pika's blocking channel is a frame and a socket write of its own. An
ack with ``multiple=True`` settles every tag of the channel up to its own, so one frame
settles a batch when no older tag is still unsettled (a wake-up held for a run going on).
Late wake-ups of runs that ended here arrive in bursts and are acked together after each
burst instead of one frame each. Used only in the connection's thread.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class Acks:
    """The unsettled delivery tags of one channel (reset when a new channel opens)."""

    def __init__(self) -> None:
        self._open: set[int] = set()  # delivered to a consumer, neither acked nor nacked
        self._later: list[int] = []  # to ack with the next settle or flush

    def reset(self) -> None:
        """A new channel: the old one's tags are void (RabbitMQ requeued them)."""
        self._open.clear()
        self._later.clear()

    def delivered(self, tag: int, *, ack_later: bool = False) -> None:
        """A consumer got ``tag``; ``ack_later``: ack it with the next settle or flush."""
        self._open.add(tag)
        if ack_later:
            self._later.append(tag)

    def flush(self, channel: Any) -> None:
        """Ack the tags kept for later."""
        if self._later:
            self.ack(channel, ())

    def ack(self, channel: Any, tags: Iterable[int]) -> None:
        """Ack ``tags`` (and those kept for later); a tag not open is skipped, since acking
        it twice would close the channel."""
        self._settle(channel, tags, requeue=None)

    def requeue(self, channel: Any, tags: Iterable[int]) -> None:
        """Nack ``tags`` back to their queues (and ack those kept for later)."""
        self._settle(channel, (), requeue=None)
        self._settle(channel, tags, requeue=True)

    def _settle(self, channel: Any, tags: Iterable[int], requeue: bool | None) -> None:
        if requeue is None:
            tags, self._later = [*self._later, *tags], []
        settled = sorted({tag for tag in tags if tag in self._open})
        if not settled:
            return
        self._open.difference_update(settled)
        oldest = min(self._open, default=None)
        below = [tag for tag in settled if oldest is None or tag < oldest]
        singles = settled[len(below) :]  # sorted: those below the oldest open come first
        frames = [(below[-1], True)] if below else []
        frames += [(tag, False) for tag in singles]
        for tag, multiple in frames:
            if requeue:
                channel.basic_nack(tag, multiple=multiple, requeue=True)
            else:
                channel.basic_ack(tag, multiple=multiple)
