"""How an idle worker of the Redis broker learns of new work: pub/sub on ``<prefix>:wake``.

Every enqueue (and retry, and give back) publishes the names of its queues from inside its
script. A waiting broker subscribes once, on its first wait, on a connection of its own and
keeps the subscription between waits, so a message published while its worker was busy
waits in the socket and is read by the next wait. Pub/sub rather than a blocking pop on a
signal list: a message reaches every idle worker of every process at once (a pop wakes one,
and the others sleep on while work waits), and nothing piles up in Redis when nobody waits.

A wait also ends when a delayed run falls due or a lease ends in its queues (when the claim
would take the run back): it asks Redis for that time first. While the subscription is broken
it polls every ``poll_interval`` seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.brokers.redis.layout import from_time_hex
from asyncz_like.brokers.waiting import ConnectionWaiter

if TYPE_CHECKING:
    from redis import Redis

#: ``next_work(queues)``: '' when a run is ready, else the 16-hex time when one may be.
NextWork = Callable[[tuple[str, ...]], bytes | str | None]


class PubSubWaiter(ConnectionWaiter):
    """Waits for a message about its queues on ``channel``, or for the next due time."""

    def __init__(
        self,
        client: Redis,
        channel: str,
        next_work: NextWork,
        poll_interval: float,
        logger: logging.Logger,
    ) -> None:
        self.client = client
        self.channel = channel
        self.next_work = next_work
        self.poll_interval = poll_interval
        self.logger = logger
        super().__init__()
        self._pubsub: Any = None

    def _wait_connected(self, queues: tuple[str, ...], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        if self._pubsub is None:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(self.channel)
            self._pubsub = pubsub
        wanted = {queue.encode() for queue in queues}
        while True:
            if self.take_interrupt():
                return False
            due_in = self._due_in(queues)
            if due_in is not None and due_in <= 0:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if due_in is not None and due_in < remaining:
                self._message_about(wanted, due_in)  # then look again: it may be due
            elif self._message_about(wanted, remaining):
                return True
            else:  # the time is up, or interrupted
                self.take_interrupt()
                return False

    def _due_in(self, queues: tuple[str, ...]) -> float | None:
        """Seconds until work may be waiting (0 or less: now); None when there is none."""
        found = self.next_work(queues)
        if found is None:
            return None
        if not found:
            return 0.0
        due = from_time_hex(found)
        assert due is not None
        return (due - datetime.now(UTC)).total_seconds()

    def _message_about(self, wanted: set[bytes], seconds: float) -> bool:
        """Read messages for up to ``seconds``; True at the first about ``wanted``, False
        at the end or at an interrupt."""
        end = time.monotonic() + seconds
        while (remaining := end - time.monotonic()) > 0:
            message = self._pubsub.get_message(timeout=remaining)
            if message is None:
                continue
            if message.get("data") in wanted:
                return True
            if self.interrupt_pending():  # its message is empty: it names no queue
                return False
        return False

    def _send_interrupt(self) -> None:
        self.client.publish(self.channel, b"")

    def _close(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                pubsub.close()
            except Exception:  # already broken
                self.logger.debug("Closing a broken subscription failed", exc_info=True)
