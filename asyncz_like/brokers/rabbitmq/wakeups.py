"""The messages of the RabbitMQ broker: wake-ups of the runs that are due, one message per
queue and priority of each batch handed in (see ``batches.py``), in a priority queue per
broker queue, held unacked by the worker that runs them until they end.

A message says only "runs <ids> are due"; the runs themselves are in the state broker.
Consumers take messages in priority order (``x-max-priority``), at most ``prefetch`` unacked
at a time. A message is held until each of its runs is settled here: claimed by another
worker, or claimed here and ended; a worker that dies leaves it unacked, so RabbitMQ hands it
to another consumer, which wakes up and claims the runs once their leases expired.
A run that ends for good as a failure (FAILED or TIMEOUT, here or in the state broker) gets a
dead letter: a persistent message published to the dead-letter exchange, the run id as its
body and in its headers with the status and the reason (a rejected message could carry no
reason, and a run the state broker fails has no message held anywhere).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from asyncz_like.brokers.rabbitmq.acks import Acks
from asyncz_like.brokers.rabbitmq.batches import (
    MAX_PRIORITY,
    OpenBatches,
    Wakeup,
    messages_of,
    run_ids_of,
)
from asyncz_like.brokers.rabbitmq.connection import OwnedConnection, StillUnreachable
from asyncz_like.brokers.rabbitmq.outbox import Outbox, OutboxFull
from asyncz_like.runs.run import RunError

logger = logging.getLogger("asyncz_like.brokers.rabbitmq")

DEFAULT_PREFETCH = 10
#: The dead-letter queue keeps the newest this many messages of runs that ended FAILED.
DEAD_LETTER_MAX = 10_000
#: A dead letter's ``reason`` header keeps at most this many characters of the error message.
REASON_MAX = 4_000
#: How many runs ended for good are remembered, to ack a late wake-up of theirs at once.
FINISHED_KEPT = 4_096
#: At most this many wake-ups wait to be published; past it new ones are dropped and logged.
OUTBOX_LIMIT = 100_000
PUBLISHING_FAILED = "RabbitMQ: publishing wake-ups failed (%r); the state broker still has the runs"
#: Why a run gets a dead letter: its final status ("failed", "timeout") and its last error.
Death = tuple[str, RunError]


class End(NamedTuple):
    """A run that ended here or left this worker: ``final`` when it ended for good (it gets
    no new wake-up), ``death`` when it gets a dead letter."""

    run_id: str
    final: bool = False
    death: Death | None = None


def dead_letter_headers(run_id: str, death: Death) -> dict[str, str]:
    """The headers of a run's dead letter: ``run_id``, ``status``, ``error_type``, ``reason``."""
    status, error = death
    return {
        "run_id": run_id,
        "status": status,
        "error_type": error.type,
        "reason": error.message[:REASON_MAX],
    }


class Wakeups:
    """Publishes, consumes and settles the wake-ups of one broker instance. Thread-safe."""

    def __init__(self, url: str, prefix: str, prefetch: int | None) -> None:
        self.prefix = prefix
        self.dead_letters = f"{prefix}.dead"
        self.prefetch = prefetch
        self._condition = threading.Condition()
        self._generation = 0  # a new channel's delivery tags start over
        self._inbox: dict[str, tuple[str, int]] = {}  # run id -> (queue, tag): not yet claimed
        self._batches = OpenBatches()  # tag -> its runs still in the inbox or held
        self._held: dict[str, int] = {}  # run id -> tag: claimed here, not yet ended
        self._running: set[str] = set()  # claimed here, not yet ended, no wake-up held
        self._finished: OrderedDict[str, None] = OrderedDict()  # ended for good here
        self._consuming: set[str] = set()
        self._declared: dict[str, str] = {}  # broker queue -> RabbitMQ queue declared
        self._qos_applied = False
        self._interrupted = False  # interrupt: the wait going on (or the next) ends
        self._acks = Acks()  # the connection's thread's only
        self._outbox: Outbox[Wakeup] = Outbox(OUTBOX_LIMIT)
        self.connection = OwnedConnection(
            url,
            self._opened,
            f"asyncz-like-amqp-{prefix}",
            after_events=self._acks.flush,
            before_close=self._publish_waiting,
        )

    def queue_name(self, queue: str) -> str:
        return f"{self.prefix}.{queue}"

    # -- the connection's thread -------------------------------------------------------------

    def _opened(self, channel: Any) -> None:
        with self._condition:
            self._generation += 1
            self._inbox.clear()  # their tags died with the old channel; RabbitMQ requeued them
            self._batches.clear()
            self._running.update(self._held)  # RabbitMQ hands their wake-ups back
            self._held.clear()
            self._declared.clear()
            self._qos_applied = False
            consuming, self._consuming = set(self._consuming), set()
        self._acks.reset()
        channel.exchange_declare(self.dead_letters, exchange_type="fanout", durable=True)
        arguments = {"x-max-length": DEAD_LETTER_MAX}
        channel.queue_declare(self.dead_letters, durable=True, arguments=arguments)
        channel.queue_bind(self.dead_letters, self.dead_letters)
        if consuming:
            self._consume(channel, consuming)
        self._publish_waiting(channel)  # handed in while the connection was away

    def _declare(self, channel: Any, queue: str) -> str:
        """The RabbitMQ queue of ``queue``, declared on this connection."""
        name = self._declared.get(queue)
        if name is None:
            name = self.queue_name(queue)
            arguments = {  # (a message rejected by another client still lands in the DLQ)
                "x-max-priority": MAX_PRIORITY,
                "x-dead-letter-exchange": self.dead_letters,
            }
            channel.queue_declare(name, durable=True, arguments=arguments)
            self._declared[queue] = name
        return name

    def _consume(self, channel: Any, queues: Iterable[str]) -> None:
        if not self._qos_applied:  # before the first consumer: it applies to later ones
            self.prefetch = self.prefetch or DEFAULT_PREFETCH
            channel.basic_qos(prefetch_count=self.prefetch)
            self._qos_applied = True
        for queue in sorted(set(queues) - self._consuming):
            self._declare(channel, queue)
            channel.basic_consume(self.queue_name(queue), self._message_callback(queue))
            self._consuming.add(queue)

    def _message_callback(self, queue: str) -> Callable[[Any, Any, Any, bytes], None]:
        def on_message(channel: Any, method: Any, properties: Any, body: bytes) -> None:
            tag, opened = method.delivery_tag, 0
            run_ids = run_ids_of(body, properties.content_type)
            with self._condition:
                for run_id in run_ids:
                    if run_id in self._running:  # held till the run ends, not requeued
                        self._running.discard(run_id)
                        self._held[run_id] = tag
                    elif run_id in self._inbox or run_id in self._held or run_id in self._finished:
                        continue  # a second wake-up of one run, or one come in too late
                    else:
                        self._inbox[run_id] = (queue, tag)
                    opened += 1
                if opened:
                    self._batches.opened(tag, opened, len(run_ids))
                    self._condition.notify_all()
            # one with no run left open is acked with the burst it came in (after it, or with
            # a settle)
            self._acks.delivered(tag, ack_later=not opened)

        return on_message

    # -- any thread --------------------------------------------------------------------------

    def publish(self, wakeups: list[Wakeup]) -> None:
        """Hand ``(queue, run_id, priority)`` wake-ups to the connection's thread, which
        publishes them in the order handed in; returns without waiting (the first call opens
        the connection). Errors are logged, not raised, and the wake-ups dropped: the runs are
        in the state broker already, and a waiting worker's watch of it finds them."""
        if not wakeups:
            return
        with self._condition:  # a run enqueued again under its id wants its wake-up
            for _, run_id, _ in wakeups:
                self._finished.pop(run_id, None)
        try:
            first = self._outbox.put(wakeups)
        except OutboxFull as full:
            if full.first:
                logger.warning(
                    "RabbitMQ: %d wake-ups wait to be published; dropping new ones until they "
                    "go out (the state broker still has the runs)",
                    full.waiting,
                    extra={"waiting": full.waiting},
                )
            return
        try:
            if first:
                self.connection.post(self._publish_waiting)
            else:  # a publishing round is due; a lost connection is opened again to do it
                self.connection.ensure_open()
        except Exception as error:
            self._drop_waiting(error)

    def _publish_waiting(self, channel: Any) -> None:
        """Publish every wake-up handed in, one message per queue and priority, in the
        order handed in, then write them out at once (the connection's thread).
        BlockingChannel.basic_publish writes each message out before returning: 80-106 µs of
        CPU a message; the publish of the channel underneath with one flush a batch, 21-27
        µs (pika 1.4, 5,000 messages on one channel, on a loaded machine)."""
        import pika

        wakeups = self._outbox.take()
        if not wakeups:
            return
        try:
            publish = channel._impl.basic_publish  # noqa: SLF001  # pika <2 pinned for it
            for queue, priority, body, content_type in messages_of(wakeups):
                properties = pika.BasicProperties(
                    priority=priority, delivery_mode=2, content_type=content_type
                )
                publish("", self._declare(channel, queue), body, properties)
            channel._flush_output()  # noqa: SLF001  # what basic_publish does each message
        except Exception as error:
            logger.warning(
                PUBLISHING_FAILED,
                error,
                extra={"wakeups": len(wakeups)},
            )

    def _drop_waiting(self, error: Exception) -> None:
        dropped = len(self._outbox.take())
        if not isinstance(error, StillUnreachable):  # that one was logged by the connect
            logger.warning(
                PUBLISHING_FAILED,
                error,
                extra={"wakeups": dropped},
            )

    def listen(self, queues: Iterable[str], prefetch: int) -> bool:
        """Consume the wake-ups of ``queues`` (the first call fixes the prefetch); False when
        RabbitMQ cannot be reached."""
        wanted = set(queues)
        if wanted <= self._consuming:
            return True
        if self.prefetch is None:
            self.prefetch = max(1, prefetch)
        return self._guarded("consuming", lambda channel: self._consume(channel, wanted))

    def wait(self, queues: tuple[str, ...], timeout: float, also: Callable[[], bool]) -> bool:
        """Block up to ``timeout`` s until a wake-up of ``queues`` is waiting to be claimed,
        or ``also()`` is true (checked when :meth:`nudge` is called); False at once when
        interrupted."""
        wanted = set(queues)

        def waiting() -> bool:
            return (
                self._interrupted
                or also()
                or any(queue in wanted for queue, _ in self._inbox.values())
            )

        with self._condition:
            woken = self._condition.wait_for(waiting, timeout)
            interrupted, self._interrupted = self._interrupted, False
        return woken and not interrupted

    def interrupt(self) -> None:
        """End the wait going on (or the next) at once: it returns False."""
        with self._condition:
            self._interrupted = True
            self._condition.notify_all()

    def nudge(self) -> None:
        """Make the waits look again."""
        with self._condition:
            self._condition.notify_all()

    def claimed(self, queues: tuple[str, ...], run_ids: set[str], full: bool) -> None:
        """After a claim: hold the wake-ups of the runs it got (also those that come in
        later); the others of ``queues`` are settled (someone else has the run, or it
        ended). After a ``full`` claim they may still wait: the message of one run is
        requeued for another worker, one of several is kept here until a claim that is not
        full settles them (see ``OpenBatches.settle_others``)."""
        wanted = set(queues)
        with self._condition:
            generation = self._generation
            others: dict[int, list[str]] = {}
            for run_id, (queue, tag) in list(self._inbox.items()):
                if queue not in wanted:
                    continue
                if run_id in run_ids:
                    del self._inbox[run_id]
                    self._held[run_id] = tag
                else:
                    others.setdefault(tag, []).append(run_id)
            self._running.update(run_ids - self._held.keys())
            acked, requeued = self._batches.settle_others(others, full)
            for tag in (*acked, *requeued):
                for run_id in others[tag]:
                    del self._inbox[run_id]
        if acked or requeued:
            self._settle_tags(generation, acked, requeued)

    def ended(self, end: End) -> None:
        """The run ended here (or left this worker): ack its wake-up if one is here, and
        publish its dead letter when it has a ``death``."""
        self.ended_many([end])

    def ended_many(self, ends: Iterable[End]) -> bool:
        """:meth:`ended` for many runs, settled in one call on the connection; False when
        that call failed (logged), so their dead letters were not published."""
        import pika

        with self._condition:
            generation = self._generation
            settled = [(self._take_tag(end), end.run_id, end.death) for end in ends]
        if not any(tag is not None or death is not None for tag, _, death in settled):
            return True

        def settle(channel: Any) -> None:
            for _, run_id, death in settled:
                if death is not None:  # first: a wake-up acked, its dead letter lost, is worse
                    headers = dead_letter_headers(run_id, death)
                    properties = pika.BasicProperties(delivery_mode=2, headers=headers)
                    channel.basic_publish(self.dead_letters, "", run_id.encode(), properties)
            if generation == self._generation:  # older tags are void
                self._acks.ack(channel, [tag for tag, _, _ in settled if tag is not None])

        return self._guarded("settling wake-ups", settle)

    def _take_tag(self, end: End) -> int | None:
        """The tag to ack for the run's end: that of its wake-up, held, or come in after the
        claim that got the run (acked with the run's end, not left unacked until the next
        claim), once no other run of that message is open here; the lock held."""
        run_id = end.run_id
        if end.final:
            self._finished[run_id] = None
            if len(self._finished) > FINISHED_KEPT:
                self._finished.popitem(last=False)
        self._running.discard(run_id)
        tag = self._held.pop(run_id, None)
        if tag is None and run_id in self._inbox:
            tag = self._inbox.pop(run_id)[1]
        if tag is None or not self._batches.settle(tag):
            return None  # its message still carries runs open here
        return tag

    def _settle_tags(self, generation: int, acked: list[int], requeued: list[int]) -> None:
        def settle(channel: Any) -> None:
            if generation != self._generation:
                return
            if acked:
                self._acks.ack(channel, acked)
            if requeued:
                self._acks.requeue(channel, requeued)

        self._guarded("settling wake-ups", settle)

    def _guarded(self, doing: str, work: Callable[[Any], None]) -> bool:
        try:
            self.connection.call(work)
        except StillUnreachable:
            return False
        except Exception as error:
            logger.warning(
                "RabbitMQ: %s failed (%r); the state broker still has the runs", doing, error
            )
            return False
        return True

    def close(self) -> None:
        """Publish the wake-ups handed in (on a connection still open), then close it."""
        self.connection.close()
