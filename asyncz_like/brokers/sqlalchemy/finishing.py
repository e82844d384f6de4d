"""Many deliveries of the SQL broker ended in one transaction.

* PostgreSQL: one ``UPDATE ... FROM unnest(arrays) ... RETURNING id`` per kind of ending
  (completed, failed, retrying), whatever the number of runs; a batch of one kind in
  autocommit (no BEGIN and COMMIT round trips);
* MariaDB/MySQL, SQLite: the rows still held with the tokens given are locked and read in one
  ``SELECT``, then updated per kind of ending: one ``executemany`` on SQLite, ``UPDATE ...
  CASE`` statements of up to ``CASE_CHUNK`` rows on MariaDB/MySQL.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from asyncz_like.brokers.checks import check_fail_status
from asyncz_like.brokers.codec import encode_result
from asyncz_like.brokers.records import Finish, check_aware
from asyncz_like.brokers.sqlalchemy.database import Database
from asyncz_like.brokers.sqlalchemy.rows import among, error_values, released
from asyncz_like.brokers.sqlalchemy.schema import to_micros
from asyncz_like.runs.status import RunStatus
from asyncz_like.serializers.base import BaseSerializer

_RUNNING = RunStatus.RUNNING.value
#: A delivery of a run: ``(run id, token)``.
DeliveryKey = tuple[str, int]
#: Rows per UPDATE ... CASE on MariaDB/MySQL.
CASE_CHUNK = 100
_ERROR_COLUMNS = ("error_type", "error_message", "error_traceback")
#: The columns each kind of ending writes, besides ``status`` and the lease's.
_COLUMNS = {
    "completed": ("result", "progress", "finished_at"),
    "failed": (*_ERROR_COLUMNS, "finished_at"),
    "retrying": (*_ERROR_COLUMNS, "due"),
}


def finish_params(finish: Finish, serializer: BaseSerializer) -> tuple[str, dict[str, Any]]:
    """The kind of ending and the parameters of its row; bad values raise naming them."""
    if not isinstance(finish, Finish):
        raise TypeError(f"finish_many takes Finishes, got {finish!r}")
    at = to_micros(check_aware(finish.at, "at"))
    params: dict[str, Any] = {"b_id": finish.run_id, "b_token": finish.token}
    if finish.status is RunStatus.COMPLETED:
        result = encode_result(finish.result, serializer)
        return "completed", {**params, "b_result": result, "b_progress": 100.0, "b_finished_at": at}
    if finish.error is None:
        raise TypeError(f"a {finish.status.value} Finish needs an error, got {finish!r}")
    errors = {f"b_{name}": value for name, value in error_values(finish.error).items()}
    if finish.status is RunStatus.RETRYING:
        return "retrying", {**params, **errors, "b_due": at}
    status = check_fail_status(finish.status).value
    return "failed", {**params, **errors, "b_finished_at": at, "b_status": status}


def finish_all(db: Database, kinds: Sequence[tuple[str, dict[str, Any]]]) -> list[bool]:
    """End the rows of ``kinds`` (from :func:`finish_params`) still held with their token:
    on PostgreSQL, ends of one kind (a busy worker's usual batch: all completed) are one
    statement in autocommit; else one transaction."""
    if db.is_postgresql and len({kind for kind, _ in kinds}) == 1:
        return db.run_alone(lambda connection: _finish_unnest(db, connection, kinds))
    return db.run(lambda connection: finish_rows(db, connection, kinds), relaxed=True)


def finish_rows(
    db: Database, connection: sa.Connection, kinds: Sequence[tuple[str, dict[str, Any]]]
) -> list[bool]:
    """End the rows of ``kinds`` (from :func:`finish_params`) still held with their token,
    in the transaction of ``connection``."""
    if db.is_postgresql:
        return _finish_unnest(db, connection, kinds)
    ids = [params["b_id"] for _, params in kinds]
    query = _held_query(db.table, not db.is_sqlite)
    held = {row.id: row.token for row in connection.execute(query, {"ids": ids})}
    answers: list[bool] = []
    groups: dict[str, list[dict[str, Any]]] = {}
    for kind, params in kinds:
        answers.append(held.get(params["b_id"]) == params["b_token"])
        if answers[-1]:
            del held[params["b_id"]]  # ended: a second finish in the batch is refused
            groups.setdefault(kind, []).append(params)
    for kind, rows in groups.items():
        if db.is_sqlite:  # in process: executemany costs no round trips
            connection.execute(_statement(db.table, kind), rows)
        else:  # PyMySQL sends an executemany of UPDATEs one by one: one statement instead
            for start in range(0, len(rows), CASE_CHUNK):
                connection.execute(_case_statement(db, kind, rows[start : start + CASE_CHUNK]))
    return answers


def _case_statement(db: Database, kind: str, rows: list[dict[str, Any]]) -> sa.Update:
    """One UPDATE of the rows (held: locked and checked) writing each one's values by id."""
    t = db.table
    names = [*_COLUMNS[kind], *(["status"] if kind == "failed" else [])]
    values: dict[str, Any] = {}
    for name in names:
        given = [row[f"b_{name}"] for row in rows]
        if all(value == given[0] for value in given):  # often: progress, a None result
            values[name] = given[0]
        else:
            values[name] = sa.case({row["b_id"]: row[f"b_{name}"] for row in rows}, value=t.c.id)
    if kind != "failed":
        values["status"] = kind
    ids = [row["b_id"] for row in rows]
    return sa.update(t).where(among(t.c.id, ids)).values({**values, **released()})


@functools.lru_cache(maxsize=64)
def _held_query(t: sa.Table, lock: bool) -> sa.Select[Any]:
    """The rows of ``ids`` still running, with their token; ``lock``: FOR UPDATE (a cancel
    or a claim's sweep waits for the end). Built once, as the claim's statements are."""
    query = sa.select(t.c.id, t.c.token).where(
        t.c.id.in_(sa.bindparam("ids", expanding=True)), t.c.status == _RUNNING
    )
    return query.with_for_update() if lock else query


@functools.lru_cache(maxsize=64)
def _statement(t: sa.Table, kind: str) -> sa.Update:
    values: dict[str, Any] = {name: sa.bindparam(f"b_{name}") for name in _COLUMNS[kind]}
    values["status"] = sa.bindparam("b_status") if kind == "failed" else kind
    where = (t.c.id == sa.bindparam("b_id"), t.c.token == sa.bindparam("b_token"))
    return sa.update(t).where(*where).values({**values, **released()})


#: PostgreSQL: the array columns of each kind of ending (after id and token) and what it sets.
_UNNEST = {
    "completed": (
        (("result", "bytea"), ("finished_at", "bigint")),
        "status = 'completed', result = v.result, progress = 100.0, finished_at = v.finished_at",
    ),
    "failed": (
        (("status", "text"), ("error_type", "text"), ("error_message", "text"),
         ("error_traceback", "text"), ("finished_at", "bigint")),
        "status = v.status, error_type = v.error_type, error_message = v.error_message, "
        "error_traceback = v.error_traceback, finished_at = v.finished_at",
    ),
    "retrying": (
        (("error_type", "text"), ("error_message", "text"), ("error_traceback", "text"),
         ("due", "bigint")),
        "status = 'retrying', error_type = v.error_type, error_message = v.error_message, "
        "error_traceback = v.error_traceback, due = v.due",
    ),
}  # fmt: skip


def _finish_unnest(
    db: Database, connection: sa.Connection, kinds: Sequence[tuple[str, dict[str, Any]]]
) -> list[bool]:
    answers = [False] * len(kinds)
    groups = unnest_groups(kinds)
    table, relaxed = quoted_name(db), db.relaxed()
    for kind, places in groups.items():
        statement = sa.text(unnest_update(table, kind, relaxed))
        for run_id, token in connection.execute(statement, unnest_values(kinds, kind, places)):
            answers[places[run_id, token]] = True
    return answers


def unnest_groups(kinds: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, dict[DeliveryKey, int]]:
    """PostgreSQL: per kind of ending, ``{(run id, token): its place in kinds}``, the first
    end of each delivery (one that matches can be only one per run: a run has one token)."""
    groups: dict[str, dict[DeliveryKey, int]] = {}
    seen: set[DeliveryKey] = set()
    for place, (kind, params) in enumerate(kinds):
        delivery = (params["b_id"], params["b_token"])
        if delivery not in seen:
            seen.add(delivery)
            groups.setdefault(kind, {})[delivery] = place
    return groups


def quoted_name(db: Database) -> str:
    """The run table's name as SQL."""
    return db.engine.dialect.identifier_preparer.quote(db.table.name)


def unnest_update(table: str, kind: str, relaxed: str) -> str:
    """PostgreSQL: the ``UPDATE ... FROM unnest(arrays) ... RETURNING t.id, t.token`` of the
    ends of one kind in ``table`` (:func:`quoted_name`), ``relaxed`` ANDed into its WHERE
    (``Database.relaxed``), its arrays bound as ``:{kind}_{column}`` (:func:`unnest_values`)."""
    columns, sets = _UNNEST[kind]
    names = ["id", "token", *(name for name, _ in columns)]
    types = ["text", "integer", *(type_ for _, type_ in columns)]
    arrays = ", ".join(
        f"CAST(:{kind}_{name} AS {type_}[])" for name, type_ in zip(names, types, strict=True)
    )
    return (
        f"UPDATE {table} AS t SET {sets}, worker_id = NULL, lease_until = NULL "
        f"FROM unnest({arrays}) AS v({', '.join(names)}) "
        f"WHERE t.id = v.id AND t.token = v.token AND t.status = '{_RUNNING}' "
        f"AND {relaxed} "
        "RETURNING t.id, t.token"
    )


def unnest_values(
    kinds: Sequence[tuple[str, dict[str, Any]]], kind: str, places: dict[DeliveryKey, int]
) -> dict[str, list[Any]]:
    """The arrays of :func:`unnest_update` for the ends of ``kind`` at ``places``."""
    columns, _ = _UNNEST[kind]
    rows = [kinds[place][1] for place in places.values()]
    return {
        f"{kind}_{name}": [row[f"b_{name}"] for row in rows]
        for name in ("id", "token", *(name for name, _ in columns))
    }
