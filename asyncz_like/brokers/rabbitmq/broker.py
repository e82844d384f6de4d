"""The RabbitMQ broker: RabbitMQ carries the wake-ups, a state broker keeps the runs.

RabbitMQ keeps no run records, results, progress nor cancel flags, and cannot hold a message
for 40 days without a plugin. So every run lives in a *state broker* (SQL or Redis), which
also decides what a claim hands out (priority, due time, age), fences late finishes and
ends crash loops; RabbitMQ carries the wake-ups of the due runs (one message per queue and
priority of a batch, see ``wakeups.py``), so
an idle worker starts new work at once and a dead worker's runs wake another one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from asyncz_like.brokers.base import (
    DEFAULT_LEASE_SECONDS,
    BaseBroker,
    FailureListener,
    WorkerRegistry,
)
from asyncz_like.brokers.checks import check_claim
from asyncz_like.brokers.rabbitmq import failures
from asyncz_like.brokers.rabbitmq.wakeups import Death, End, Wakeups
from asyncz_like.brokers.records import (
    CancelOutcome,
    Delivery,
    Envelope,
    Finish,
    QueueStats,
    Renewal,
    check_aware,
    check_queues,
)
from asyncz_like.limits import check_count, check_timeout
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus

DEFAULT_URL = "amqp://guest:guest@localhost:5672/%2F"
DEFAULT_PREFIX = "asyncz_like"
#: A watch of the state broker that ends this much before a wait's end still covers it.
WATCH_SLACK = 0.05
WATCH_SLICE = 0.5


#: The ends that get a dead letter: failures for good (not a cancel, which was asked for).
DEAD_STATUSES = frozenset({RunStatus.FAILED, RunStatus.TIMEOUT})


def death_of(done: bool, status: RunStatus | str, error: RunError | None) -> Death | None:
    """What a recorded end says in its dead letter, or None when it gets none."""
    if not done or error is None or RunStatus(status) not in DEAD_STATUSES:
        return None
    return RunStatus(status).value, error


def split_state(url: str) -> tuple[str, str | None]:
    """The AMQP URL without its ``state`` query parameter, and that parameter."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    states = [value for key, value in query if key == "state"]
    rest = urlencode([(key, value) for key, value in query if key != "state"])
    return urlunsplit(parts._replace(query=rest)), (states[-1] if states else None)


class RabbitMQBroker(BaseBroker):
    """Runs kept by ``state`` (a SQL or Redis broker: an instance, its ``{"type": ...}``
    config or its URL), woken through RabbitMQ at ``url``.

    ``state`` may also come in the URL as a percent-encoded query parameter:
    ``amqp://guest:guest@host/?state=redis%3A%2F%2Fhost%3A6379%2F0``. Each broker queue is
    the RabbitMQ queue ``<prefix>.<queue>``; each run that ends FAILED or TIMEOUT (here, or
    in the state broker: lost ``max_deliveries`` times, unreadable) gets a dead letter in the
    exchange and queue ``<prefix>.dead``, with headers ``run_id``, ``status``,
    ``error_type`` and ``reason``. ``prefetch``: how many wake-ups a worker holds
    unacked at once; by default the limit of its first claim (the worker's concurrency).
    A state broker given as an instance is started but not shut down by this broker.
    """

    alias = "rabbitmq"

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        state: BaseBroker | Mapping[str, Any] | str | None = None,
        prefix: str = DEFAULT_PREFIX,
        prefetch: int | None = None,
    ) -> None:
        from asyncz_like.brokers.plugins import make_broker  # the registry names this module

        if not isinstance(url, str) or "://" not in url:
            raise TypeError(f"url must be an amqp:// URL, got url={url!r}")
        url, state_in_url = split_state(url)
        state = state if state is not None else state_in_url
        if state is None:
            raise ValueError(
                "RabbitMQBroker needs state= (a SQL or Redis broker, its config or URL, or "
                "?state=<percent-encoded URL> in the AMQP URL): RabbitMQ keeps no run records"
            )
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(f"prefix must be a nonempty string, got prefix={prefix!r}")
        if prefetch is not None:
            check_count(prefetch, "prefetch", minimum=1)
        self._owns_state = not isinstance(state, BaseBroker)
        self.state = make_broker(state, "state")
        if isinstance(self.state, RabbitMQBroker) or self.state.alias == "memory":
            raise ValueError(
                f"state must be a broker other processes reach (SQL or Redis), got {self.state!r}"
            )
        self.url, self.prefix = url, prefix
        self.wakeups = Wakeups(url, prefix, prefetch)
        failures.listen(self.state, (url, prefix), self.wakeups)  # its failures dead-lettered
        self._watch_lock = threading.Lock()
        self._watcher: ThreadPoolExecutor | None = None
        self._watch_until = 0.0  # time.monotonic() until which the state broker is watched
        self._due_now = False
        self._closing = False
        self._interrupts = 0  # a watch ends when this changes

    def __repr__(self) -> str:
        where = urlsplit(self.url)
        return f"RabbitMQBroker({where.hostname}:{where.port or 5672}, state={self.state!r})"

    @property
    def worker_registry(self) -> WorkerRegistry:
        """The state broker's: RabbitMQ keeps no records."""
        return self.state.worker_registry

    def start(self) -> None:
        self.state.start()

    def add_failure_listener(self, listener: FailureListener) -> None:
        """Listen to the state broker, which ends the runs: a listener given to several
        RabbitMQ brokers on one state broker object hears each of its failures once."""
        failures.add_listener(self.state, listener)

    def shutdown(self) -> None:
        self._closing = True
        self.state.interrupt_wait()  # a watch going on ends now
        if self._watcher is not None:
            self._watcher.shutdown(wait=False, cancel_futures=True)
        failures.stop_listening(self.state, self.wakeups)
        self.wakeups.close()  # the wake-ups still held go back to their queues
        if self._owns_state:
            self.state.shutdown()

    # -- adding and handing out ------------------------------------------------------------

    def enqueue(self, envelopes: Iterable[Envelope], now: datetime | None = None) -> list[bool]:
        envelopes = list(envelopes)
        added = self.state.enqueue(envelopes, now)
        moment = check_aware(now, "now") if now is not None else datetime.now(UTC)
        self.wakeups.publish(
            [
                (envelope.queue, envelope.run_id, envelope.priority)
                for envelope, first in zip(envelopes, added, strict=True)
                if first and (envelope.due is None or envelope.due <= moment)
            ]
        )
        return added

    def claim(
        self,
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> list[Delivery]:
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        self.wakeups.listen(names, limit)
        deliveries = self.state.claim(worker_id, names, limit, now, lease_seconds)
        self._claimed(names, deliveries, limit)
        return deliveries

    def finish_and_claim(
        self,
        finishes: Iterable[Finish],
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> tuple[list[bool], list[Delivery]]:
        """The state broker's ``finish_and_claim`` (one round trip on Redis and SQL), then
        the wake-ups of the ends and of the claim settled, as by the two calls in turn."""
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        finishes = list(finishes)
        self.wakeups.listen(names, limit)
        answers, deliveries = self.state.finish_and_claim(
            finishes, worker_id, names, limit, now, lease_seconds
        )
        self._ended(finishes, answers)
        self._claimed(names, deliveries, limit)
        return answers, deliveries

    def _claimed(self, names: tuple[str, ...], deliveries: list[Delivery], limit: int) -> None:
        run_ids = {delivery.run_id for delivery in deliveries}
        self.wakeups.claimed(names, run_ids, full=len(deliveries) >= limit)

    def wait_for_work(self, queues: Iterable[str], timeout: float) -> bool:
        names = check_queues(list(queues) if not isinstance(queues, str) else queues)
        wait = check_timeout(timeout) or 0.0
        if not self.wakeups.listen(names, 0):  # RabbitMQ is away: the state broker's way
            return self.state.wait_for_work(names, wait)
        self._watch_due_times(names, wait)
        woken = self.wakeups.wait(names, wait, lambda: self._due_now)
        self._due_now = False
        return woken

    def interrupt_wait(self) -> None:
        """End the wait going on (RabbitMQ's, or the state broker's while RabbitMQ is away)
        and the watch of the state broker's due times."""
        with self._watch_lock:
            self._interrupts += 1
            self._watch_until = 0.0  # the next wait needs a watch of its own
        self.wakeups.interrupt()
        self.state.interrupt_wait()

    def _watch_due_times(self, names: tuple[str, ...], wait: float) -> None:
        """Meanwhile, the state broker's own wait, in a thread: it ends when a delayed run
        or a retry falls due, or a lease expires (no wake-up message says so)."""
        deadline = time.monotonic() + wait
        with self._watch_lock:
            if self._watch_until >= deadline - WATCH_SLACK:
                return  # the watch going on (or queued) covers this wait
            if self._watcher is None:
                self._watcher = ThreadPoolExecutor(1, "asyncz-like-amqp-due")
            self._watch_until = deadline
            self._watcher.submit(self._watch, names, deadline, self._interrupts)

    def _watch(self, names: tuple[str, ...], deadline: float, interrupts: int) -> None:
        due = False
        try:  # in slices, so that a shutdown is not kept waiting by a long wait
            while (
                not due
                and not self._closing
                and interrupts == self._interrupts
                and (left := deadline - time.monotonic()) > 0
            ):
                due = self.state.wait_for_work(names, min(left, WATCH_SLICE))
        except Exception:  # the claim that follows reports the state broker's trouble
            due = False
        if due:
            with self._watch_lock:
                self._watch_until = 0.0  # the next wait needs a watch of its own
            self._due_now = True
            self.wakeups.nudge()

    # -- the holder's calls ----------------------------------------------------------------

    def renew(
        self,
        worker_id: str,
        tokens: Mapping[str, int],
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> Renewal:
        renewal = self.state.renew(worker_id, tokens, now, lease_seconds)
        for run_id in renewal.lost:
            self.wakeups.ended(End(run_id))
        return renewal

    def complete(self, run_id: str, token: int, result: Any, now: datetime) -> bool:
        done = self.state.complete(run_id, token, result, now)
        self.wakeups.ended(End(run_id, final=done))
        return done

    def fail(
        self,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> bool:
        done = self.state.fail(run_id, token, error, now, status)
        self.wakeups.ended(End(run_id, done, death_of(done, status, error)))
        return done

    def retry(self, run_id: str, token: int, error: RunError, at: datetime) -> bool:
        done = self.state.retry(run_id, token, error, at)
        self.wakeups.ended(End(run_id))  # the retry waits in the state broker
        return done

    def finish_many(self, finishes: Iterable[Finish]) -> list[bool]:
        """The state broker's batch, then the wake-ups settled in one call: a run per round
        trip let a busy worker's ends pile up behind its runs."""
        finishes = list(finishes)
        answers = self.state.finish_many(finishes)
        self._ended(finishes, answers)
        return answers

    def _ended(self, finishes: list[Finish], answers: list[bool]) -> None:
        self.wakeups.ended_many(
            End(
                finish.run_id,
                done and finish.status is not RunStatus.RETRYING,
                death_of(done, finish.status, finish.error),
            )
            for finish, done in zip(finishes, answers, strict=True)
        )

    def give_back(self, run_id: str, token: int) -> bool:
        done = self.state.give_back(run_id, token)
        self.wakeups.ended(End(run_id))
        if done:
            run = self.state.get_run(run_id)
            if run is not None and run.queue is not None:  # wake another worker for it
                self.wakeups.publish([(run.queue, run_id, run.priority)])
        return done

    def progress(self, run_id: str, token: int, percent: float, message: str | None) -> bool:
        return self.state.progress(run_id, token, percent, message)

    # -- anyone's calls --------------------------------------------------------------------

    def cancel(self, run_id: str, now: datetime) -> CancelOutcome:
        return self.state.cancel(run_id, now)

    def get_run(self, run_id: str) -> Run | None:
        return self.state.get_run(run_id)

    def get_envelope(self, run_id: str) -> Envelope | None:
        return self.state.get_envelope(run_id)

    @property
    def keeps_ended_calls(self) -> bool:  # type: ignore[override]  # read from the state
        return self.state.keeps_ended_calls

    def list_runs(
        self, queue: str | None = None, status: RunStatus | str | None = None, limit: int = 100
    ) -> list[Run]:
        return self.state.list_runs(queue, status, limit)

    def stats(self, now: datetime) -> dict[str, QueueStats]:
        return self.state.stats(now)

    def cleanup(self, finished_before: datetime) -> int:
        return self.state.cleanup(finished_before)
