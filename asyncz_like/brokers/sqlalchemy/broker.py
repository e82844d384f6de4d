"""The SQL broker: runs in one table of PostgreSQL, MariaDB/MySQL or SQLite."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS, WorkerRegistry
from asyncz_like.brokers.checks import (
    check_claim,
    check_fail_status,
    check_percent_message,
    firsts_of,
)
from asyncz_like.brokers.codec import encode_result
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
from asyncz_like.brokers.sqlalchemy import claiming, claims, finishing, reads
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.insert_few import FEW, FewRowInserts
from asyncz_like.brokers.sqlalchemy.inserts import ManyRowInserts
from asyncz_like.brokers.sqlalchemy.rows import (
    among,
    envelope_of,
    error_values,
    new_batch,
    new_columns,
    released,
    run_of,
)
from asyncz_like.brokers.sqlalchemy.schema import to_micros
from asyncz_like.brokers.sqlalchemy.waiting import Waiter, channel_of, make_waiter, notify
from asyncz_like.brokers.sqlalchemy.workers import SQLWorkerRegistry
from asyncz_like.limits import check_count, check_wait, shifted
from asyncz_like.runs.run import Run, RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.serializers.choice import get_serializer
from asyncz_like.stores.sqlalchemy.engine import (
    check_table,
    is_memory_url,
    make_engine,
    parse_url,
)

logger = logging.getLogger(__name__)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,50}$")
_RUNNING = RunStatus.RUNNING.value


def _engine_options(database: str, given: Mapping[str, Any] | None, owner: str) -> dict[str, Any]:
    options = dict(given or {})
    if parse_url(database, owner).get_backend_name() in ("mysql", "mariadb"):
        # Every call ends its transaction itself (Database.transaction commits or rolls
        # back; nothing else checks out a connection), but the pool rolled back again at
        # check-in, and PyMySQL sends that ROLLBACK whatever the state: one round trip in
        # five of a claim, one in four of a finish or an enqueue (benchmarks/round_trips.py).
        options.setdefault("pool_reset_on_return", None)
    return options


def _autocommit_engine(database: str, options: dict[str, Any], owner: str) -> sa.Engine | None:
    """A second engine, of connections in autocommit, for the driver's own statements of
    one-run enqueues (see ``Database.driver_alone``), which the broker holds one connection
    of between calls: an ``INSERT`` alone is one round trip, where on the main engine's
    connections it needs a COMMIT on MariaDB (and switching one of them to autocommit and
    back costs three) or a switch of psycopg's autocommit on and off on PostgreSQL; and the
    held connection takes no place in the main engine's pool. Its connection is opened at
    the first enqueue. None for SQLite in memory (one connection, shared)."""
    url = parse_url(database, owner)
    if url.get_backend_name() == "sqlite" and is_memory_url(url):
        return None
    return make_engine(database, {**options, "isolation_level": "AUTOCOMMIT"}, owner)


class SQLAlchemyBroker(GroupedBroker):
    """Runs in the table ``tablename`` (created on :meth:`start`) of ``database``: a
    SQLAlchemy URL (``postgresql+psycopg://...``, ``mysql+pymysql://...``, ``sqlite:///...``)
    or ``engine``, an Engine of yours. ``serializer`` (``"json"``, ``"pickle"`` or an
    instance; signed with ``secret_key``) encodes arguments and results. ``poll_interval``:
    how often an idle worker looks for work enqueued by other processes, where PostgreSQL's
    LISTEN/NOTIFY does not tell it. ``fast_commits`` (PostgreSQL): claims, renewals and
    finishes commit without waiting for the disk (``synchronous_commit = off``), a third of
    their time; a crash of the server may lose the last of them, which at-least-once delivery
    repeats (the run is delivered again). Enqueues and cancels always wait for the disk."""

    alias = "sqlalchemy"
    keeps_ended_calls = True

    def __init__(
        self,
        database: str | None = None,
        *,
        engine: sa.Engine | None = None,
        tablename: str = "asyncz_like_runs",
        serializer: str | BaseSerializer | None = None,
        secret_key: str | bytes | None = None,
        poll_interval: float = 1.0,
        fast_commits: bool = True,
        engine_options: Mapping[str, Any] | None = None,
    ) -> None:
        if (database is None) == (engine is None):
            raise ValueError("SQLAlchemyBroker: give database (a URL) or engine, not both")
        if not isinstance(tablename, str) or not _NAME.match(tablename):
            raise ValueError(
                f"tablename must be letters, digits and _ (at most 51), got {tablename!r}"
            )
        self.poll_interval = check_wait(poll_interval, "poll_interval")
        self.serializer = get_serializer(serializer, secret_key)
        owns, autocommit = engine is None, None
        if engine is None:
            owner = type(self).__name__
            options = _engine_options(database or "", engine_options, owner)
            engine = make_engine(database or "", options, owner)
            autocommit = _autocommit_engine(database or "", options, owner)
        self.db = Database(engine, tablename, owns, logger)
        if autocommit is not None:
            self.db.hold_for_statements(autocommit)
        self.db.fast_commits = bool(fast_commits) and self.db.is_postgresql
        self.channel = channel_of(tablename)
        self._workers = SQLWorkerRegistry(self.db)
        self.sweeps = claims.SweepSchedule()
        self._waiter: Waiter | None = None
        self._many = ManyRowInserts(self.db, self.channel)
        self._few = FewRowInserts(self.db)

    def __repr__(self) -> str:
        url = self.db.engine.url.render_as_string(hide_password=True)
        return f"SQLAlchemyBroker({url!r}, tablename={self.db.table.name!r})"

    @property
    def worker_registry(self) -> WorkerRegistry:
        return self._workers

    def start(self) -> None:
        self.db.start()
        self._workers.exists = True
        if self._waiter is None:
            self._waiter = make_waiter(self._has_work, self.poll_interval, self.db, self.channel)

    def attach(self) -> None:
        """Open on an existing table, creating nothing (no waiter either: nothing waits)."""
        check_table(self.db.engine, self.db.table.name, type(self).__name__)

    def shutdown(self) -> None:
        if self._waiter is not None:
            self._waiter.close()
            self._waiter = None
        self.db.dispose()

    # -- adding and handing out ------------------------------------------------------------

    def _enqueue_together(self, envelopes: list[Envelope], now: datetime | None) -> list[bool]:
        now = check_aware(now, "now") if now is not None else datetime.now(UTC)
        unique, firsts = firsts_of(envelopes)
        if not unique:
            return []
        if len(unique) <= FEW:  # submits: the driver's statement
            # The batch mark only where no RETURNING tells the ids added (MariaDB/MySQL)
            batch = None if self._few.returns else new_batch()
            added = self._few.insert(unique, now, batch, self.serializer, self.channel)
        else:
            columns = new_columns(unique, now, self.serializer)
            added = self._many.insert(columns, new_batch())
        queues = {envelope.queue for envelope in unique if envelope.run_id in added}
        if queues and self._waiter is not None:
            self._waiter.wake(queues)
        answers = iter(envelope.run_id in added for envelope in unique)
        return [next(answers) if first else False for first in firsts]

    def claim(
        self,
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> list[Delivery]:
        request = self._request(worker_id, queues, limit, now, lease_seconds)
        return self._delivered(claiming.claim_alone(self.db, request, self.sweeps), request)

    def finish_and_claim(
        self,
        finishes: Iterable[Finish],
        worker_id: str,
        queues: Iterable[str],
        limit: int,
        now: datetime,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
    ) -> tuple[list[bool], list[Delivery]]:
        """The ends and the claim in one transaction: one statement on PostgreSQL, one
        COMMIT on MariaDB and SQLite (see ``brokers/sqlalchemy/claiming.py``)."""
        request = self._request(worker_id, queues, limit, now, lease_seconds)
        kinds = [finishing.finish_params(finish, self.serializer) for finish in finishes]
        if not kinds:
            return [], self._delivered(claiming.claim_alone(self.db, request, self.sweeps), request)
        answers, claimed = claiming.finish_and_claim_rows(self.db, kinds, request, self.sweeps)
        return answers, self._delivered(claimed, request)

    def _request(self, worker_id: str, queues: Iterable[str], limit: int, now: datetime,
                 lease_seconds: float) -> claiming.ClaimRequest:  # fmt: skip
        names = check_claim(worker_id, queues, limit, now, lease_seconds)
        until = shifted(now, lease_seconds)
        return claiming.ClaimRequest(worker_id, names, limit, now, until, lease_seconds)

    def _delivered(self, claimed: claims.Claimed, request: claiming.ClaimRequest) -> list[Delivery]:
        rows, failed = claimed
        deliveries = claiming.deliveries_of(self.db, self.serializer, rows, request.now,
                                            request.lease_until, failed)  # fmt: skip
        self._ended_failed(failed)
        return deliveries

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
        lease_until = shifted(now, lease_seconds)
        return self.db.run(
            lambda connection: claims.renew_rows(
                self.db, connection, worker_id, tokens, lease_until
            ),
            relaxed=True,
        )

    def _update_held(self, run_id: str, token: int, values: dict[str, Any]) -> bool:
        t = self.db.table
        statement = (
            sa.update(t)
            .where(t.c.id == run_id, t.c.token == token, t.c.status == _RUNNING)
            .values(values)
        )
        return self.db.update_one(statement)

    def complete(self, run_id: str, token: int, result: Any, now: datetime) -> bool:
        values = {
            "status": RunStatus.COMPLETED.value,
            "result": encode_result(result, self.serializer),
            "progress": 100.0,
            "finished_at": to_micros(check_aware(now, "now")),
            **released(),
        }
        return self._update_held(run_id, token, values)

    def fail(
        self,
        run_id: str,
        token: int,
        error: RunError,
        now: datetime,
        status: RunStatus = RunStatus.FAILED,
    ) -> bool:
        values = {
            "status": check_fail_status(status).value,
            **error_values(error),
            "finished_at": to_micros(check_aware(now, "now")),
            **released(),
        }
        return self._update_held(run_id, token, values)

    def retry(self, run_id: str, token: int, error: RunError, at: datetime) -> bool:
        values = {
            "status": RunStatus.RETRYING.value,
            "due": to_micros(check_aware(at, "at")),
            **error_values(error),
            **released(),
        }
        return self._update_held(run_id, token, values)

    def finish_many(self, finishes: Iterable[Finish]) -> list[bool]:
        kinds = [finishing.finish_params(finish, self.serializer) for finish in finishes]
        if not kinds:
            return []
        return finishing.finish_all(self.db, kinds)

    def give_back(self, run_id: str, token: int) -> bool:
        t = self.db.table
        values = {"status": RunStatus.PENDING.value, "attempt": t.c.attempt - 1, **released()}
        if not self._update_held(run_id, token, values):
            return False
        run = self.get_run(run_id)
        if run is not None and run.queue is not None:
            queues = {run.queue}
            if self.db.is_postgresql:
                self.db.run(lambda connection: notify(connection, self.channel, queues))
            if self._waiter is not None:
                self._waiter.wake(queues)
        return True

    def progress(self, run_id: str, token: int, percent: float, message: str | None) -> bool:
        percent = check_percent_message(percent, message)
        return self._update_held(run_id, token, {"progress": percent, "message": message})

    # -- anyone's calls --------------------------------------------------------------------

    def cancel(self, run_id: str, now: datetime) -> CancelOutcome:
        t = self.db.table
        moment = to_micros(check_aware(now, "now"))

        def operation(connection: sa.Connection) -> CancelOutcome:
            waiting = sa.update(t).where(t.c.id == run_id, among(t.c.status, reads.WAITING))
            ended = {"status": RunStatus.CANCELLED.value, "finished_at": moment}
            if connection.execute(waiting.values(ended)).rowcount == 1:
                return CancelOutcome.CANCELLED
            running = sa.update(t).where(t.c.id == run_id, t.c.status == _RUNNING)
            if connection.execute(running.values(cancel_requested=True)).rowcount == 1:
                return CancelOutcome.REQUESTED
            found = connection.scalar(sa.select(t.c.status).where(t.c.id == run_id))
            return CancelOutcome.UNKNOWN if found is None else CancelOutcome.FINISHED

        return self.db.run(operation)

    def get_run(self, run_id: str) -> Run | None:
        t = self.db.table
        query = sa.select(t).where(t.c.id == run_id)
        row = self.db.run(lambda connection: connection.execute(query).first(), write=False)
        return None if row is None else run_of(row, self.serializer)

    def get_envelope(self, run_id: str) -> Envelope | None:
        t = self.db.table
        query = sa.select(t).where(t.c.id == run_id)
        row = self.db.run(lambda connection: connection.execute(query).first(), write=False)
        return None if row is None else envelope_of(row, self.serializer)

    def list_runs(
        self, queue: str | None = None, status: RunStatus | str | None = None, limit: int = 100
    ) -> list[Run]:
        t = self.db.table
        check_count(limit, "limit", minimum=0)
        query = sa.select(t).order_by(t.c.created_at.desc(), t.c.id.desc()).limit(limit)
        if queue is not None:
            query = query.where(t.c.queue == queue)
        if status is not None:
            query = query.where(t.c.status == RunStatus(status).value)
        rows = self.db.run(lambda connection: list(connection.execute(query)), write=False)
        return [run_of(row, self.serializer) for row in rows]

    def stats(self, now: datetime) -> dict[str, QueueStats]:
        return reads.queue_stats(self.db, to_micros(check_aware(now, "now")))

    def cleanup(self, finished_before: datetime) -> int:
        moment = to_micros(check_aware(finished_before, "finished_before"))
        deleted = reads.delete_finished(self.db, moment)
        self._workers.forget(finished_before)
        return deleted

    def wait_for_work(self, queues: Iterable[str], timeout: float) -> bool:
        names = check_queues(list(queues) if not isinstance(queues, str) else queues)
        if self._waiter is None:
            raise RuntimeError("SQLAlchemyBroker: call start() before wait_for_work()")
        return self._waiter.wait(names, timeout)

    def interrupt_wait(self) -> None:
        if self._waiter is not None:
            self._waiter.interrupt()

    def _has_work(self, queues: tuple[str, ...]) -> bool:
        return reads.has_due_work(self.db, queues, to_micros(datetime.now(UTC)))
