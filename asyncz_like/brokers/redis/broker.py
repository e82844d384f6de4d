"""The Redis broker: runs in hashes, lines of runs in sorted sets, claims by Lua scripts."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS, Failures, WorkerRegistry
from asyncz_like.brokers.checks import (
    check_claim,
    check_fail_status,
    check_percent_message,
    firsts_of,
)
from asyncz_like.brokers.grouping import GroupedBroker
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
from asyncz_like.brokers.redis import claiming, counting, enqueuing, finishing, scripts
from asyncz_like.brokers.redis.layout import (
    DEFAULT_PREFIX,
    RUN_FIELDS,
    claimed_envelope,
    envelope_of,
    next_time_hex,
    read_call,
    run_of,
    stats_of,
    time_hex,
)
from asyncz_like.brokers.redis.waiting import PubSubWaiter
from asyncz_like.brokers.redis.workers import RedisWorkerRegistry
from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.limits import check_count, check_wait, shifted
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.serializers.choice import get_serializer
from asyncz_like.stores.redis.connection import (
    build_client,
    call_with_retries,
    import_module,
    split_client_options,
)
from asyncz_like.stores.redis.held_connection import ScriptRunner
from asyncz_like.stores.redis.scripts import RunnableScript

if TYPE_CHECKING:
    from redis import Redis

logger = logging.getLogger(__name__)
T = TypeVar("T")

#: Most runs one claim hands out, whatever its limit.
MAX_CLAIM = 10_000
#: Per queue and claim, at most: expired leases taken back, delayed runs moved to ready.
SWEEP_LIMIT = 100
MOVE_LIMIT = 1_000
#: Runs ended per finish_many script.
FINISH_CHUNK = 500
#: Finished runs deleted per cleanup script.
CLEANUP_CHUNK = 500


class RedisBroker(GroupedBroker):
    """Runs in Redis under the keys ``<prefix>:*`` (see ``docs/brokers.md``), shared by any
    number of workers on any number of hosts.

    Give ``url`` (``redis://[user:password@]host:port/db``, ``rediss://``, ``unix://``),
    ``client`` (a ``redis.Redis`` made with ``decode_responses=False``; not closed by the
    broker) or host, port and database; other keyword arguments go to ``redis.Redis``.
    ``serializer`` (``"json"``, ``"pickle"`` or an instance; signed with ``secret_key``)
    encodes arguments and results. ``poll_interval``: how often an idle worker looks for work
    while its pub/sub subscription is broken. Connection errors are retried with backoff
    (``retry_attempts`` tries), then raised.
    """

    alias = "redis"
    keeps_ended_calls = True
    retry_attempts = 5
    retry_first_wait = 0.1
    retry_max_wait = 2.0

    def __init__(
        self, url: str | None = None, *, host: str = "localhost", port: int = 6379,
        database: int = 0, client: Redis | None = None, prefix: str = DEFAULT_PREFIX,
        serializer: str | BaseSerializer | None = None, secret_key: str | bytes | None = None,
        poll_interval: float = 1.0, **client_options: Any,
    ) -> None:  # fmt: skip
        import_module("tenacity")  # fail now, not at the first connection error
        if not isinstance(prefix, str) or not prefix:
            raise TypeError(f"prefix must be a nonempty string, got prefix={prefix!r}")
        taken, unknown = split_client_options(client_options)
        if unknown:
            raise TypeError(f"RedisBroker got unknown options: {', '.join(sorted(unknown))}")
        self.poll_interval = check_wait(poll_interval, "poll_interval")
        self.serializer = get_serializer(serializer, secret_key)
        self.client, self._owns_client = build_client(
            host, port, database, url, client, taken, who="RedisBroker"
        )
        self.prefix = prefix
        self._runner = ScriptRunner(self.client, hold=self._owns_client)
        register = self.client.register_script
        self._enqueue = RunnableScript(register(enqueuing.ENQUEUE), self._runner)
        self._claim = RunnableScript(register(claiming.CLAIM), self._runner)
        self._renew = RunnableScript(register(claiming.RENEW), self._runner)
        self._finish = RunnableScript(register(scripts.FINISH), self._runner)
        self._retry_script = RunnableScript(register(scripts.RETRY), self._runner)
        self._finish_many = RunnableScript(register(scripts.FINISH_MANY), self._runner)
        self._give_back = RunnableScript(register(scripts.GIVE_BACK), self._runner)
        self._progress = RunnableScript(register(scripts.PROGRESS), self._runner)
        self._cancel = RunnableScript(register(scripts.CANCEL), self._runner)
        self._list = RunnableScript(register(scripts.LIST_RUNS), self._runner)
        self._stats = RunnableScript(register(counting.STATS), self._runner)
        self._index = RunnableScript(register(counting.INDEX), self._runner)
        self._cleanup = RunnableScript(register(scripts.CLEANUP), self._runner)
        self._next_work = RunnableScript(register(scripts.NEXT_WORK), self._runner)
        self._waiter: PubSubWaiter | None = None
        self._workers = RedisWorkerRegistry(self.client, self._runner, self._call)

    def __repr__(self) -> str:
        kwargs = self.client.get_connection_kwargs()
        where = kwargs.get("path") or f"{kwargs.get('host')}:{kwargs.get('port')}"
        return f"RedisBroker({where!r}, db={kwargs.get('db', 0)}, prefix={self.prefix!r})"

    @property
    def worker_registry(self) -> WorkerRegistry:
        return self._workers

    def start(self) -> None:
        if self._waiter is None:
            counting.build_sets(self._index, self.prefix)
            next_work = partial(self._call, self._next_work)  # its list of queues: a tuple
            self._waiter = PubSubWaiter(
                self.client, f"{self.prefix}:wake", next_work, self.poll_interval, logger
            )

    def attach(self) -> None:  # reads create no key; no waiter: nothing waits
        self.client.ping()

    def shutdown(self) -> None:
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None
        self._runner.close()
        if self._owns_client:
            self.client.close()

    def _call(self, script: RunnableScript, args: Iterable[Any]) -> Any:
        return self._retry(lambda _: script(keys=[], args=[self.prefix, *args]))

    def _retry(self, call: Callable[[int], T]) -> T:
        return call_with_retries(
            call, self.retry_attempts, self.retry_first_wait, self.retry_max_wait, logger
        )

    # -- adding and handing out ------------------------------------------------------------

    def _enqueue_together(self, envelopes: list[Envelope], now: datetime | None) -> list[bool]:
        now = check_aware(now, "now") if now is not None else datetime.now(UTC)
        unique, firsts = firsts_of(envelopes)
        if not unique:
            return []
        args = [secrets.token_hex(8), next_time_hex(now),
                *enqueuing.enqueue_args(unique, now, self.serializer)]  # fmt: skip
        answers = (answer == 1 for answer in self._call(self._enqueue, args))
        return [next(answers) if first else False for first in firsts]

    def claim(
        self,
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> list[Delivery]:
        return self._ended_and_claimed([], worker_id, queues, limit, now, lease_seconds)[1]

    def finish_and_claim(
        self,
        finishes: Iterable[Finish],
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> tuple[list[bool], list[Delivery]]:
        """``FINISH_MANY`` and ``CLAIM`` sent together: one round trip."""
        finishes = list(finishes)
        ends = [self._finish_call(finish) for finish in finishes]
        if len(ends) > FINISH_CHUNK:  # more than one script's worth: one call after the other
            return super().finish_and_claim(finishes, worker_id, queues, limit, now, lease_seconds)
        return self._ended_and_claimed(ends, worker_id, queues, limit, now, lease_seconds)

    def _ended_and_claimed(self, ends: list[finishing.HeldCall], worker_id: str,
                           queues: Iterable[str], limit: int, now: datetime,
                           lease_seconds: float) -> tuple[list[bool], list[Delivery]]:  # fmt: skip
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        lease_until = shifted(now, lease_seconds)
        head = claiming.claim_head(self.prefix, worker_id, now, lease_until,
                                   min(limit, MAX_CLAIM), SWEEP_LIMIT, MOVE_LIMIT)  # fmt: skip

        def call(attempt: int) -> Any:  # a retry replays what a lost first try did
            claim = (self._claim.script, (), [*head, "1" if attempt > 1 else "0", *names])
            if not ends:
                return [self._claim(keys=[], args=claim[2])]
            args = finishing.batch_args(self.prefix, ends, attempt, self._retry_script)
            return self._runner.run_many([(self._finish_many.script, (), args), claim])

        answers, claimed = _answers_and_claim(self._retry(call))
        if claimed is None:
            return answers, []
        leased, lost = claimed
        failed = claiming.lost_runs(lost)
        deliveries = [self._delivery_of(row, lease_until, now, failed) for row in leased]
        self._ended_failed(failed)
        return answers, [delivery for delivery in deliveries if delivery is not None]

    def _delivery_of(
        self, row: list[Any], lease_until: datetime, now: datetime, failed: Failures
    ) -> Delivery | None:
        run_id, token, attempt = row[0].decode(), int(row[2]), int(row[3])
        try:
            envelope = claimed_envelope(row, self.serializer)
        except BrokenRecordError as error:
            logger.error("Run %s cannot be read; failed: %s", run_id, error.reason,
                         extra={"run_id": run_id})  # fmt: skip
            broken = RunError(type(error).__name__, str(error))
            if self.fail(run_id, token, broken, now):
                failed.append((run_id, broken))
            return None
        return Delivery(envelope, token, attempt, lease_until)

    # -- the holder's calls ----------------------------------------------------------------

    def renew(
        self,
        worker_id: str,
        tokens: Mapping[str, int],
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> Renewal:
        check_claim(worker_id, ["default"], 1, now, lease_seconds)
        if not tokens:
            return Renewal()
        args: list[Any] = [worker_id, time_hex(shifted(now, lease_seconds))]
        for run_id, token in tokens.items():
            args.extend((run_id, str(token)))
        lost, cancel = self._call(self._renew, args)
        return Renewal(
            frozenset(run_id.decode() for run_id in lost),
            frozenset(run_id.decode() for run_id in cancel),
        )

    def _held_call(
        self,
        script: RunnableScript,
        head: list[Any],
        values: Mapping[str, Any],
        deleted: Iterable[str] = (),
    ) -> bool:
        """``script`` about a held run: ``head`` (id, token first), then the fields to write
        and delete."""

        def call(attempt: int) -> Any:
            return script(keys=[], args=finishing.held_args(self.prefix, head, values, deleted,
                                                            attempt))  # fmt: skip

        return bool(self._retry(call) == 1)

    def _finish_call(self, finish: Finish) -> finishing.HeldCall:
        return finishing.held_call_of(finish, self.serializer, self._finish, self._retry_script)

    def complete(self, run_id: str, token: int, result: Any, now: datetime) -> bool:
        return self._held_call(*self._finish_call(Finish.completed(run_id, token, result, now)))

    def fail(
        self,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> bool:
        finish = Finish.failed(run_id, token, error, now, check_fail_status(status))
        return self._held_call(*self._finish_call(finish))

    def retry(self, run_id: str, token: int, error: RunError, at: datetime) -> bool:
        return self._held_call(*self._finish_call(Finish.retried(run_id, token, error, at)))

    def finish_many(self, finishes: Iterable[Finish]) -> list[bool]:
        calls = [self._finish_call(finish) for finish in finishes]
        answers: list[bool] = []
        for start in range(0, len(calls), FINISH_CHUNK):
            chunk = calls[start : start + FINISH_CHUNK]

            def call(attempt: int, chunk: list[finishing.HeldCall] = chunk) -> Any:
                args = finishing.batch_args(self.prefix, chunk, attempt, self._retry_script)
                return self._finish_many(keys=[], args=args)

            answers.extend(reply == 1 for reply in self._retry(call))
        return answers

    def give_back(self, run_id: str, token: int) -> bool:
        return self._held_call(self._give_back, [run_id, str(token)], {})

    def progress(self, run_id: str, token: int, percent: float, message: str | None) -> bool:
        args = finishing.progress_args(run_id, token, check_percent_message(percent, message),
                                       message)  # fmt: skip
        return bool(self._call(self._progress, args) == 1)

    # -- anyone's calls --------------------------------------------------------------------

    def cancel(self, run_id: str, now: datetime) -> CancelOutcome:
        at = time_hex(check_aware(now, "now"))
        return CancelOutcome(self._call(self._cancel, [run_id, at]).decode())

    def get_run(self, run_id: str) -> Run | None:
        key = f"{self.prefix}:run:{run_id}"
        values = self._retry(lambda _: self.client.hmget(key, RUN_FIELDS))
        return run_of(run_id, values, self.serializer)

    def get_envelope(self, run_id: str) -> Envelope | None:
        """The envelope of a run until it completes or, having failed, until ``cleanup``."""
        fields, work = self._retry(lambda _: read_call(self.client, self.prefix, run_id))
        return envelope_of(run_id, fields, work, self.serializer)

    def list_runs(
        self, queue: str | None = None, status: RunStatus | str | None = None, limit: int = 100
    ) -> list[Run]:
        check_count(limit, "limit", minimum=0)
        wanted = "" if status is None else RunStatus(status).value
        found = self._call(self._list, [min(limit, MAX_CLAIM), queue or "", wanted])
        runs = []
        for index in range(0, len(found), 2):
            run = run_of(found[index].decode(), found[index + 1], self.serializer)
            if run is not None:
                runs.append(run)
        return runs

    def stats(self, now: datetime) -> dict[str, QueueStats]:
        rows = self._call(self._stats, [next_time_hex(check_aware(now, "now"))])
        return {queue: stats for queue, stats in map(stats_of, rows) if stats is not None}

    def cleanup(self, finished_before: datetime) -> int:
        before = time_hex(check_aware(finished_before, "finished_before"))
        deleted = 0
        while count := int(self._call(self._cleanup, [before, CLEANUP_CHUNK])):
            deleted += count
        self._workers.forget(finished_before)
        return deleted

    def wait_for_work(self, queues: Iterable[str], timeout: float) -> bool:
        names = check_queues(list(queues) if not isinstance(queues, str) else queues)
        if self._waiter is None:
            raise RuntimeError("RedisBroker: call start() before wait_for_work()")
        return self._waiter.wait(names, timeout)

    def interrupt_wait(self) -> None:
        if self._waiter is not None:
            self._waiter.interrupt()


def _answers_and_claim(replies: list[Any]) -> tuple[list[bool], Any]:
    """The ends' answers and the claim's reply (None: an error reply, logged) of one call."""
    *finished, claimed = replies
    if finished and isinstance(finished[0], Exception):
        raise finished[0]  # an error reply (the claim's runs come back after their lease)
    answers = [reply == 1 for reply in finished[0]] if finished else []
    if isinstance(claimed, Exception):  # the ends are recorded: their answers are kept
        logger.warning("Claiming after recording %d ends failed: %r", len(answers), claimed)
        return answers, None
    return answers, claimed
