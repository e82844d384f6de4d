"""Claims and renewals of the SQL broker: who holds which run, each in one transaction.

A claim first puts back the runs of its queues whose lease expired (their worker is gone):
back in line as PENDING, or ended when a cancel was asked or when they reach
``max_deliveries``. Then it leases the best due runs:

* PostgreSQL: one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``
  in autocommit, unless a lease of the queues expired: the sweep, a transaction of its
  own, is made only then;
* MariaDB/MySQL: ``SELECT ... FOR UPDATE SKIP LOCKED`` (one per waiting status, in one
  ``UNION ALL``), then ``UPDATE`` by id;
* SQLite: the same inside ``BEGIN IMMEDIATE`` (one writer at a time on the file).

On MariaDB and SQLite the sweep is a statement of the claim's transaction: it is made at most
once per :class:`SweepSchedule` interval (1 s, or a quarter of the lease when shorter) per
set of queues, not on every claim; an expired lease waits that much longer at most.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.records import Renewal, lost_reason
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import ENVELOPE_COLUMNS, among, released
from asyncz_like.brokers.sqlalchemy.schema import is_running, is_waiting, to_micros
from asyncz_like.runs.run import RunError
from asyncz_like.runs.status import RunStatus

#: Expired leases put back per claim, at most (the rest by the next claims).
SWEEP_LIMIT = 100
#: The rows a claim leased, and the ``(run_id, error)`` of the runs its sweep ended FAILED.
Claimed = tuple[list[Any], list[tuple[str, RunError]]]
_RUNNING = RunStatus.RUNNING.value


class SweepSchedule:
    """When a MariaDB/SQLite claim sweeps expired leases: at most once per ``interval``
    seconds (a quarter of the claim's lease when shorter) per set of queues, by the claims'
    own ``now`` (the clock a worker injects). A sweep is a locking read of the lease index in
    the claim's transaction, one round trip of a claim's four: made on every claim, a drain
    by one worker took 0.370 round trips per run, 0.320 without it (round_trips.py). A
    ``now`` before the last sweep (a clock stepped back) sweeps, and so does the claim after
    a sweep that found SWEEP_LIMIT expired leases (more may wait). Two threads may both
    sweep at one time: harmless, each puts back what it finds."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self._last: dict[tuple[str, ...], datetime] = {}

    def due(self, queues: tuple[str, ...], now: datetime, lease_seconds: float) -> bool:
        last = self._last.get(queues)
        every = timedelta(seconds=min(self.interval, lease_seconds / 4))
        if last is not None and last <= now < last + every:
            return False
        self._last[queues] = now
        return True

    def again(self, queues: tuple[str, ...]) -> None:
        """The next claim of ``queues`` sweeps, whatever the time."""
        self._last.pop(queues, None)


def claim_rows(
    db: Database,
    connection: sa.Connection,
    worker_id: str,
    queues: tuple[str, ...],
    limit: int,
    now: datetime,
    lease_until: datetime,
    sweeps: SweepSchedule | None = None,
    lease_seconds: float = 30.0,
) -> Claimed:
    """MariaDB/MySQL, SQLite: lease up to ``limit`` due rows of ``queues`` in the
    transaction of ``connection``, after a sweep when ``sweeps`` says it is due (always
    without one); the rows (ENVELOPE_COLUMNS) as they are after the claim, best first, and
    the runs its sweep ended FAILED."""
    moment = to_micros(now)
    failed: list[tuple[str, RunError]] = []
    if sweeps is None or sweeps.due(queues, now, lease_seconds):
        failed, found_all = sweep(db, connection, queues, moment)
        if sweeps is not None and not found_all:
            sweeps.again(queues)
    if limit == 0:
        return [], failed
    select, update = _claim_statements(db.table, queues, limit, db.is_sqlite, db.skip_locked)
    found = sorted(connection.execute(select, {"at": moment}), key=in_line)[:limit]
    if not found:  # (MariaDB: the rows beyond limit were locked for a short transaction)
        return [], failed
    params = {"ids": [r.id for r in found], "holder": worker_id, "at": moment,
              "until": to_micros(lease_until)}  # fmt: skip
    connection.execute(update, params)
    return [_Claimed(row) for row in found], failed


@functools.lru_cache(maxsize=256)
def _claim_statements(
    table: sa.Table, queues: tuple[str, ...], limit: int, sqlite: bool, skip_locked: bool
) -> tuple[sa.Select[Any] | sa.CompoundSelect[Any], sa.Update]:
    """MariaDB/MySQL, SQLite: the claim's read of the best rows and its UPDATE by ``ids``,
    with parameters ``at``, ``holder`` and ``until``: built once per queues and limit, as
    :func:`lease_statements`. Built on every claim, they made a fifth to a third of the
    client's CPU per run drained by ``finish_and_claim`` in one thread on MariaDB: 368-371
    us, 238-295 us built once (4,000 runs, 20 a call, in alternation, load 4)."""
    at = sa.bindparam("at", type_=sa.BigInteger())
    if sqlite:
        select: sa.Select[Any] | sa.CompoundSelect[Any] = _candidates(table, queues, limit, at)
    else:
        select = _by_status(table, queues, limit, at, skip_locked)
    values = _leased(table, sa.bindparam("holder"), at, sa.bindparam("until"))
    chosen = table.c.id.in_(sa.bindparam("ids", expanding=True))
    return select, sa.update(table).where(chosen).values(values)


def claim_postgresql(
    db: Database,
    worker_id: str,
    queues: tuple[str, ...],
    limit: int,
    now: datetime,
    lease_until: datetime,
) -> Claimed:
    """PostgreSQL: lease up to ``limit`` due rows of ``queues`` with one statement in
    autocommit, which claims nothing while a lease of these queues has expired (an InitPlan:
    one index probe); then, and only then, a sweep is made (a transaction of its own) and
    the claim tried again, so a run put back keeps its place in line. The rows as
    :func:`claim_rows`."""
    moment = to_micros(now)

    def lease() -> tuple[list[Any], bool]:
        return db.run_alone(
            lambda connection: _lease(db, connection, worker_id, queues, limit, moment, lease_until)
        )

    rows, expired = lease()
    failed: list[tuple[str, RunError]] = []
    if expired:
        failed = db.run(lambda connection: sweep(db, connection, queues, moment)[0], relaxed=True)
        rows = lease()[0]
    return sorted(rows, key=in_line), failed


def _lease(
    db: Database,
    connection: sa.Connection,
    worker_id: str,
    queues: tuple[str, ...],
    limit: int,
    moment: int,
    lease_until: datetime,
) -> tuple[list[Any], bool]:
    update, probe = lease_statements(db.table, queues, limit, db.relaxed())
    params = {"at": moment, "holder": worker_id, "until": to_micros(lease_until)}
    if update is not None:
        rows = list(connection.execute(update, params))
        if rows:
            return rows, False
    return [], bool(connection.scalar(probe, params))


@functools.lru_cache(maxsize=256)
def lease_statements(
    table: sa.Table, queues: tuple[str, ...], limit: int, relaxed: str
) -> tuple[sa.Update | None, sa.Select[Any]]:
    """The claim's UPDATE (None for a limit of 0) and the probe of expired leases, with
    parameters ``at``, ``holder`` and ``until``: built once per queues and limit. Built on
    every claim (an alias proxies 25 columns; SQLAlchemy coerces every clause), they made
    much of the broker's CPU: per run claimed (20 a claim) and finished in one thread,
    medians of 3 in alternation (load 3.9), 359 us when built every time, 249 us with the
    alias made once, 198 us with both statements made once."""
    at = sa.bindparam("at", type_=sa.BigInteger())
    other = table.alias("expired")  # not the updated row: a query of its own
    # (the unqualified status of is_running() is the nearest table's: this alias)
    expired = sa.exists().where(
        is_running(), other.c.lease_until <= at, among(other.c.queue, queues)
    )
    probe = sa.select(expired)
    if limit == 0:
        return None, probe
    chosen = _candidates(table, queues, limit, at).with_only_columns(table.c.id)
    values = _leased(table, sa.bindparam("holder"), at, sa.bindparam("until"))
    update = (
        sa.update(table)
        .where(
            table.c.id.in_(chosen.with_for_update(skip_locked=True).scalar_subquery()),
            ~expired,
            sa.text(relaxed),
        )
        .values(values)
        .returning(*[table.c[name] for name in ENVELOPE_COLUMNS], table.c.due)
    )
    return update, probe


def _candidates(t: sa.Table, queues: tuple[str, ...], limit: int, moment: Any) -> sa.Select[Any]:
    """The best ``limit`` due rows of ``queues``, in the order of the ready index."""
    return (
        sa.select(*[t.c[name] for name in ENVELOPE_COLUMNS], t.c.due)
        .where(is_waiting(), among(t.c.queue, queues), t.c.due <= moment)
        .order_by(t.c.priority.desc(), t.c.due, t.c.created_at, t.c.id)
        .limit(limit)
    )


def _by_status(
    t: sa.Table, queues: tuple[str, ...], limit: int, moment: Any, skip_locked: bool
) -> sa.CompoundSelect[Any]:
    """MariaDB/MySQL: the best ``limit`` due rows of each waiting status, locked. Their
    ready index is led by status, so one status is one range read in the claim's order and
    its LIMIT stops the scan; both statuses at once were two ranges, read whole and sorted:
    49 ms a claim of 20 with 10,000 runs waiting (MariaDB 10.11, ANALYZE)."""
    parts = [
        sa.select(*[t.c[name] for name in ENVELOPE_COLUMNS], t.c.due)
        .where(sa.text(f"status = '{status.value}'"), among(t.c.queue, queues), t.c.due <= moment)
        .order_by(t.c.priority.desc(), t.c.due, t.c.created_at, t.c.id)
        .limit(limit)
        .with_for_update(skip_locked=skip_locked)
        for status in (RunStatus.PENDING, RunStatus.RETRYING)
    ]
    return sa.union_all(*parts)


def _leased(table: sa.Table, worker_id: Any, moment: Any, lease_until: Any) -> dict[str, Any]:
    """What a claim writes (``lease_until`` in microseconds)."""
    t = table
    return {
        "status": _RUNNING,
        "token": t.c.token + 1,
        "attempt": t.c.attempt + 1,
        "worker_id": worker_id,
        "lease_until": lease_until,
        "started_at": moment,
    }


def in_line(row: Any) -> tuple[int, int, int, str]:
    return (-row.priority, row.due, row.created_at, row.id)


class _Claimed:
    """A row read before the claim's UPDATE, as it is after it."""

    def __init__(self, row: Any) -> None:
        self.__dict__.update(row._asdict())
        self.token = row.token + 1
        self.attempt = row.attempt + 1


def sweep(
    db: Database, connection: sa.Connection, queues: tuple[str, ...], moment: int
) -> tuple[list[tuple[str, RunError]], bool]:
    """Put back (or end) the runs of ``queues`` whose lease expired at ``moment``; the runs
    ended FAILED (lost ``max_deliveries`` times), with their error, and whether that was all
    of them (fewer than SWEEP_LIMIT were found)."""
    t = db.table
    expired = (
        sa.select(t.c.id, t.c.lost, t.c.max_deliveries, t.c.cancel_requested)
        .where(is_running(), t.c.lease_until <= moment, among(t.c.queue, queues))
        .limit(SWEEP_LIMIT)
    )
    if db.skip_locked:
        expired = expired.with_for_update(skip_locked=True)
    rows = list(connection.execute(expired))
    if not rows:
        return [], True
    back: list[str] = []
    cancelled: list[str] = []
    failed: dict[int, list[str]] = {}
    for row in rows:
        if row.cancel_requested:
            cancelled.append(row.id)
        elif row.lost + 1 >= row.max_deliveries:
            failed.setdefault(row.lost + 1, []).append(row.id)
        else:
            back.append(row.id)
    lost = {"lost": t.c.lost + 1, **released()}
    if back:
        pending = {"status": RunStatus.PENDING.value, **lost}
        connection.execute(sa.update(t).where(among(t.c.id, back)).values(pending))
    if cancelled:
        ended = {"status": RunStatus.CANCELLED.value, "finished_at": moment, **lost}
        connection.execute(sa.update(t).where(among(t.c.id, cancelled)).values(ended))
    ended_failed: list[tuple[str, RunError]] = []
    for deliveries, ids in failed.items():
        error = RunError("WorkerLost", lost_reason(deliveries))
        ended = {
            "status": RunStatus.FAILED.value,
            "finished_at": moment,
            "error_type": error.type,
            "error_message": error.message,
            "error_traceback": None,
            **lost,
        }
        connection.execute(sa.update(t).where(among(t.c.id, ids)).values(ended))
        ended_failed.extend((run_id, error) for run_id in ids)
    return ended_failed, len(rows) < SWEEP_LIMIT


def renew_rows(
    db: Database,
    connection: sa.Connection,
    worker_id: str,
    tokens: Mapping[str, int],
    lease_until: datetime,
) -> Renewal:
    """Extend the leases that ``worker_id`` still holds with these tokens."""
    t = db.table
    query = sa.select(t.c.id, t.c.token, t.c.status, t.c.worker_id, t.c.cancel_requested).where(
        among(t.c.id, tokens)
    )
    if not db.is_sqlite:
        query = query.with_for_update()  # a claim's sweep skips them meanwhile
    held, cancel = [], set()
    for row in connection.execute(query):
        if row.status == _RUNNING and row.worker_id == worker_id and row.token == tokens[row.id]:
            held.append(row.id)
            if row.cancel_requested:
                cancel.add(row.id)
    if held:
        until = to_micros(lease_until)
        connection.execute(sa.update(t).where(among(t.c.id, held)).values(lease_until=until))
    return Renewal(frozenset(set(tokens) - set(held)), frozenset(cancel))
