"""The SQL broker's one-run enqueues on the connection it holds between them (brokers/
sqlalchemy/held.py): reused, pinged after an idle while, dropped after a failure, left to a
forked parent, given back at shutdown; SQLite's committed when the enqueue returns."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker
from asyncz_like.brokers.sqlalchemy import held as held_module
from asyncz_like.brokers.sqlalchemy.held import HeldConnection
from asyncz_like.stores.sqlalchemy import engine as engines
from tests.brokers.backends import BrokerBackend, made_backend
from tests.brokers.test_contract import envelope

SERVERS = ["postgresql", "mariadb", "mariadb-mysqlclient"]


@pytest.fixture(params=["sqlite", *SERVERS])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def sql(broker: Any) -> SQLAlchemyBroker:
    assert isinstance(broker, SQLAlchemyBroker)
    return broker


def held_of(broker: SQLAlchemyBroker) -> HeldConnection:
    assert broker.db.held is not None
    return broker.db.held


def kill(broker: SQLAlchemyBroker, connection: Any) -> None:
    """End ``connection`` (a DBAPI connection of ``broker``'s server) from another one, and
    wait until the server has ended it."""
    with broker.db.engine.connect() as other:
        if broker.db.is_postgresql:
            pid = connection.info.backend_pid
            ended = "SELECT pg_terminate_backend(:pid, 5000)"  # waits up to 5 s for the end
            assert other.execute(sa.text(ended), {"pid": pid}).scalar() is True
            return
        thread_id = int(connection.thread_id())
        other.exec_driver_sql(f"KILL {thread_id}")
        listed = sa.text("SELECT count(*) FROM information_schema.processlist WHERE id = :id")
        deadline = time.monotonic() + 5
        while other.execute(listed, {"id": thread_id}).scalar() and time.monotonic() < deadline:
            time.sleep(0.01)


def test_one_run_enqueues_share_one_held_connection(backend: BrokerBackend) -> None:
    broker = sql(backend.make())
    assert broker.enqueue([envelope("a")]) == [True]
    held = held_of(broker)
    first = held.dbapi_connection
    assert [broker.enqueue([envelope(name)]) for name in ("b", "c", "a")] == [
        [True], [True], [False]
    ]  # fmt: skip
    assert held.dbapi_connection is first
    assert {run.id for run in broker.list_runs()} == {"a", "b", "c"}


def test_an_enqueue_is_committed_when_it_returns(tmp_path: Path) -> None:
    """SQLite: the INSERT runs in autocommit, durable (as the file's ``synchronous``
    setting makes every commit) and seen by another connection once the enqueue returns."""
    with made_backend("sqlite", tmp_path) as made:
        broker = sql(made.make())
        broker.enqueue([envelope("a")])
        broker.enqueue([envelope("b"), envelope("c")])
        assert held_of(broker).dbapi_connection.in_transaction is False
        other = sqlite3.connect(tmp_path / "runs.db")
        try:
            found = other.execute(f"SELECT id FROM {broker.db.table.name} ORDER BY id").fetchall()
        finally:
            other.close()
    assert found == [("a",), ("b",), ("c",)]


def test_sqlite_in_memory_enqueues_on_its_one_connection() -> None:
    broker = SQLAlchemyBroker("sqlite://", tablename="held_memory")
    broker.start()
    try:
        assert broker.db.held is None
        assert broker.enqueue([envelope("a")]) == [True]
        assert broker.enqueue([envelope("a"), envelope("b")]) == [False, True]
        assert sorted(run.id for run in broker.list_runs()) == ["a", "b"]
    finally:
        broker.shutdown()


def test_a_call_while_the_held_connection_is_busy_takes_a_pooled_one(
    backend: BrokerBackend,
) -> None:
    """The pooled connection's transaction ends as it would have alone: committed, and
    handed back out of autocommit."""
    broker = sql(backend.make(engine_options={"pool_size": 1, "max_overflow": 0}))
    held = held_of(broker)
    assert held.acquire()  # another thread's call, as far as the broker can tell
    try:
        assert broker.enqueue([envelope("a")]) == [True]
        assert held.dbapi_connection is None  # never taken
    finally:
        held.lock.release()
    with broker.db.transaction() as connection:
        if broker.db.is_postgresql:
            assert connection.connection.driver_connection.autocommit is False
        assert connection.scalar(sa.select(sa.func.count()).select_from(broker.db.table)) == 1


def test_a_held_connection_lost_while_idle_is_replaced_without_an_error(
    server: BrokerBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    broker = sql(server.make())
    broker.enqueue([envelope("a")])
    held = held_of(broker)
    lost = held.dbapi_connection
    kill(broker, lost)
    monkeypatch.setattr(engines, "PING_IDLE_AFTER", -1.0)  # idle long enough to ping
    with caplog.at_level(logging.WARNING):
        assert broker.enqueue([envelope("b")]) == [True]
    assert held.dbapi_connection is not lost
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


def test_a_held_connection_lost_in_use_is_dropped_and_the_enqueue_retried(
    server: BrokerBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = sql(server.make())
    broker.enqueue([envelope("a")])
    held = held_of(broker)
    lost = held.dbapi_connection
    kill(broker, lost)
    monkeypatch.setattr(engines, "PING_IDLE_AFTER", 3600.0)  # no ping: the INSERT fails
    assert broker.enqueue([envelope("b")]) == [True]  # retried on another connection
    assert held.dbapi_connection is not lost
    assert {run.id for run in broker.list_runs()} == {"a", "b"}


def test_a_failed_statement_drops_the_held_connection(backend: BrokerBackend) -> None:
    broker = sql(backend.make())
    held = held_of(broker)
    broker.enqueue([envelope("a")])
    failing = held.dbapi_connection
    with pytest.raises(sa.exc.DBAPIError) as caught:  # not transient: raised at once
        broker.db.driver_alone("SELECT no_such_column FROM no_such_table", {}, True)
    assert isinstance(caught.value.orig, broker.db.engine.dialect.loaded_dbapi.Error)
    assert held.dbapi_connection is None
    assert broker.enqueue([envelope("b")]) == [True]
    assert held.dbapi_connection is not failing


def test_a_forked_child_leaves_the_parents_connection_alone(
    backend: BrokerBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    broker = sql(backend.make())
    broker.enqueue([envelope("a")])
    held = held_of(broker)
    parents = held.dbapi_connection
    real_pid = held_module.os.getpid()
    monkeypatch.setattr(held_module.os, "getpid", lambda: real_pid + 1)  # in the child
    assert broker.enqueue([envelope("b")]) == [True]
    assert held.dbapi_connection is not parents
    monkeypatch.undo()
    assert is_open(parents, broker)
    parents.close()  # the parent's part (the same process here)


def is_open(connection: Any, broker: SQLAlchemyBroker) -> bool:
    if broker.db.is_sqlite:
        try:
            connection.execute("SELECT 1")
        except sqlite3.ProgrammingError:  # closed
            return False
        return True
    if broker.db.is_postgresql:
        return not connection.closed
    return bool(connection.open)


def test_shutdown_gives_the_held_connection_back(backend: BrokerBackend) -> None:
    broker = sql(backend.make())
    broker.enqueue([envelope("a")])
    held = held_of(broker)
    engine = broker.db.autocommit_engine
    assert engine is not None and engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    held.close()
    assert held.dbapi_connection is None
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert broker.enqueue([envelope("b")]) == [True]  # taken again when needed


def test_an_engine_given_by_the_user_is_not_held(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'given.db'}")
    broker = SQLAlchemyBroker(engine=engine, tablename="held_given")
    broker.start()
    try:
        assert broker.db.held is None
        assert broker.enqueue([envelope("a")]) == [True]
        with engine.connect() as connection:
            table = broker.db.table
            assert connection.scalars(sa.select(table.c.id)).all() == ["a"]
    finally:
        broker.shutdown()
        engine.dispose()
