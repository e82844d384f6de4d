"""The SQL broker's claims as calls: a claim alone (:func:`claim_alone`), or the ends of runs
and the next claim together (:func:`finish_and_claim_rows`, for ``finish_and_claim``); then
the deliveries of the rows leased (:func:`deliveries_of`). The statements are in
:mod:`claims` and :mod:`finishing`.

* PostgreSQL: one statement in autocommit, the ends' ``UPDATE ... FROM unnest`` (one per kind
  of ending) and the claim's ``UPDATE ... RETURNING`` as data-modifying CTEs: one round trip
  where the two calls made two. The CTEs see one snapshot, so the claim does not see the
  ends: a batch with a retry due by the claim's ``now`` (which a claim after the ends would
  lease again at once) is sent as the two statements, ends first. When a lease of the queues
  had expired in the snapshot (perhaps of a run this batch ends late), the claim leased
  nothing: it is made again alone, which sweeps first when one still has.
* MariaDB/MySQL, SQLite: the ends then the claim in one transaction (``BEGIN IMMEDIATE`` on
  SQLite): one COMMIT where the two calls made two; the claim sees the ends.

The whole is retried when it fails transiently (rolled back whole; on PostgreSQL a reply lost
after the commit makes the retry's ends refused, as with ``finish_many``). When it fails
otherwise, the ends are recorded alone and answered, with no deliveries; the same when the
claim made after the ends fails.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.records import Delivery
from asyncz_like.brokers.sqlalchemy import claims, finishing
from asyncz_like.brokers.sqlalchemy.claims import Claimed
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import envelope_of, released
from asyncz_like.brokers.sqlalchemy.schema import to_micros
from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.runs.run import RunError
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer
from asyncz_like.stores.sqlalchemy.engine import is_transient

logger = logging.getLogger(__name__)
#: The ends of a batch, from :func:`finishing.finish_params`.
Kinds = Sequence[tuple[str, dict[str, Any]]]
#: The answers of the ends, the rows leased and the runs a sweep ended FAILED.
Outcome = tuple[list[bool], Claimed]
_NOTHING: Claimed = ([], [])
_LEASED, _EXPIRED = "leased", "expired"  # kinds of rows besides the kinds of ending
_ENDED = ("id", "token")  # the columns of a row ended


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """A claim's arguments, checked."""

    worker_id: str
    queues: tuple[str, ...]
    limit: int
    now: datetime
    lease_until: datetime
    lease_seconds: float


def finish_and_claim_rows(
    db: Database, kinds: Kinds, request: ClaimRequest, sweeps: claims.SweepSchedule
) -> Outcome:
    """Record the ends of ``kinds`` (a non-empty batch), then claim as ``request`` says."""
    if db.is_postgresql and (request.limit == 0 or _retry_due(kinds, request.now)):
        return _claimed_after(db, finishing.finish_all(db, kinds), request, sweeps)
    try:
        if not db.is_postgresql:
            return db.run(lambda connection: _both(db, connection, kinds, request, sweeps),
                          relaxed=True)  # fmt: skip
        answers, leased, expired = db.run_alone(
            lambda connection: _together(db, connection, kinds, request)
        )
    except Exception as exc:
        if is_transient(exc):
            raise  # tried ATTEMPTS times already: the worker sends the ends again
        logger.warning("Recording %d ends with a claim failed (%r); recording them alone",
                       len(kinds), exc, extra={"table": db.table.name})  # fmt: skip
        return finishing.finish_all(db, kinds), _NOTHING
    if leased or not expired:
        return answers, (sorted(leased, key=claims.in_line), [])
    return _claimed_after(db, answers, request, sweeps)  # a sweep first, in a fresh snapshot


def _retry_due(kinds: Kinds, now: datetime) -> bool:
    moment = to_micros(now)
    return any(kind == "retrying" and params["b_due"] <= moment for kind, params in kinds)


def _both(
    db: Database,
    connection: sa.Connection,
    kinds: Kinds,
    request: ClaimRequest,
    sweeps: claims.SweepSchedule,
) -> Outcome:
    answers = finishing.finish_rows(db, connection, kinds)
    return answers, _claim_in(db, connection, request, sweeps)


def claim_alone(db: Database, request: ClaimRequest, sweeps: claims.SweepSchedule) -> Claimed:
    """Claim as ``request`` says, in a call of its own (see :mod:`claims`)."""
    if db.is_postgresql:
        return claims.claim_postgresql(db, request.worker_id, request.queues, request.limit,
                                       request.now, request.lease_until)  # fmt: skip
    return db.run(lambda connection: _claim_in(db, connection, request, sweeps), relaxed=True)


def _claim_in(
    db: Database, connection: sa.Connection, request: ClaimRequest, sweeps: claims.SweepSchedule
) -> Claimed:
    return claims.claim_rows(db, connection, request.worker_id, request.queues, request.limit,
                             request.now, request.lease_until, sweeps,
                             request.lease_seconds)  # fmt: skip


def _claimed_after(
    db: Database, answers: list[bool], request: ClaimRequest, sweeps: claims.SweepSchedule
) -> Outcome:
    """A claim made after the ends were recorded: when it fails, their answers still count."""
    try:
        return answers, claim_alone(db, request, sweeps)
    except Exception as exc:
        logger.warning("Claiming after recording %d ends failed: %r", len(answers), exc,
                       extra={"table": db.table.name})  # fmt: skip
        return answers, _NOTHING


def _together(
    db: Database, connection: sa.Connection, kinds: Kinds, request: ClaimRequest
) -> tuple[list[bool], list[Any], bool]:
    """PostgreSQL: the ends and the claim in one statement; the ends' answers, the rows
    leased (as :func:`claims.claim_postgresql` gives them, unsorted), and whether a lease of
    the queues had expired (then the claim leased nothing)."""
    groups = finishing.unnest_groups(kinds)
    statement = _statement(
        db.table, finishing.quoted_name(db), tuple(groups), request.queues, request.limit,
        db.relaxed(),
    )  # fmt: skip
    params: dict[str, Any] = {
        "at": to_micros(request.now),
        "holder": request.worker_id,
        "until": to_micros(request.lease_until),
    }
    for kind, places in groups.items():
        params.update(finishing.unnest_values(kinds, kind, places))
    answers, leased, expired = [False] * len(kinds), [], False
    for row in connection.execute(statement, params):
        if row.kind == _LEASED:
            leased.append(row)
        elif row.kind == _EXPIRED:
            expired = True
        else:
            answers[groups[row.kind][row.id, row.token]] = True
    return answers, leased, expired


@functools.lru_cache(maxsize=256)
def _statement(
    table: sa.Table,
    quoted: str,
    kinds: tuple[str, ...],
    queues: tuple[str, ...],
    limit: int,
    relaxed: str,
) -> sa.CompoundSelect[Any]:
    """``WITH leased AS (the claim), ended_<kind> AS (the ends of a kind)...``: one row per
    run leased (``kind`` 'leased', the claim's columns) or ended (the kind of ending, ``id``
    and ``token``), and one of ``kind`` 'expired' when a lease of the queues had expired.
    Built once per kinds, queues and limit, as the claim's own statement is."""
    update, probe = claims.lease_statements(table, queues, limit, relaxed)
    assert update is not None  # a limit of 0 is sent apart
    leased = update.cte("leased")
    columns = list(leased.c)

    def row(kind: str, given: Any = None) -> list[Any]:
        values = [given.c[c.name] if given is not None and c.name in _ENDED else sa.null()
                  for c in columns]  # fmt: skip
        return [sa.literal_column(f"'{kind}'").label("kind"), *values]

    parts = [sa.select(sa.literal_column(f"'{_LEASED}'").label("kind"), *columns)]
    for kind in kinds:
        text = sa.text(finishing.unnest_update(quoted, kind, relaxed))
        ended = text.columns(sa.column("id", sa.String()), sa.column("token", sa.Integer()))
        parts.append(sa.select(*row(kind, ended.cte(f"ended_{kind}"))))
    parts.append(sa.select(*row(_EXPIRED)).where(probe.scalar_subquery()))
    return sa.union_all(*parts)


def deliveries_of(
    db: Database,
    serializer: BaseSerializer,
    rows: list[Any],
    now: datetime,
    lease_until: datetime,
    failed: list[tuple[str, RunError]],
) -> list[Delivery]:
    """The deliveries of the rows claimed; a row whose work cannot be read is failed (and
    added to ``failed``)."""
    deliveries, broken = [], []
    for row in rows:
        try:
            envelope = envelope_of(row, serializer)
        except BrokenRecordError as error:
            logger.error(
                "Run %s cannot be read; failed: %s", row.id, error.reason, extra={"run_id": row.id}
            )
            broken.append((row, error))
            continue
        deliveries.append(Delivery(envelope, row.token, row.attempt, lease_until))
    if broken:

        def fail(connection: sa.Connection) -> None:
            for row, error in broken:
                fail_broken(db, connection, row, error, to_micros(now))

        db.run(fail)
        failed.extend((row.id, RunError(type(error).__name__, str(error))) for row, error in broken)
    return deliveries


def fail_broken(
    db: Database, connection: sa.Connection, row: Any, error: BrokenRecordError, moment: int
) -> None:
    """End a claimed run whose work record cannot be read: it could never run."""
    t = db.table
    values = {
        "status": RunStatus.FAILED.value,
        "finished_at": moment,
        **released(),
        "error_type": type(error).__name__,
        "error_message": str(error),
        "error_traceback": None,
    }
    connection.execute(sa.update(t).where(t.c.id == row.id).values(values))
