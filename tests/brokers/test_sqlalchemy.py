"""What only the SQL broker does: encoding, broken rows, its table, NOTIFY, its indexes."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from asyncz_like.brokers import Envelope, WorkerInfo, make_broker
from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker, inserts
from asyncz_like.brokers.sqlalchemy.insert_few import FEW
from asyncz_like.exceptions import SerializationError
from asyncz_like.runs import RunError, RunStatus
from tests.brokers.backends import (
    BrokerBackend,
    MariaDBBackend,
    MySQLClientBackend,
    SQLBackend,
    made_backend,
)
from tests.brokers.cleanup import drop_table
from tests.brokers.test_contract import TARGET, at, envelope, ids

SQL_BACKENDS = ["sqlite", "postgresql", "mariadb"]


@pytest.fixture(params=SQL_BACKENDS)
def sql_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend("postgresql", tmp_path) as made:
        yield made


def sql(broker: Any) -> SQLAlchemyBroker:
    assert isinstance(broker, SQLAlchemyBroker)
    return broker


def test_unencodable_arguments_fail_at_enqueue_naming_them(sql_backend: BrokerBackend) -> None:
    broker = sql_backend.make()
    with pytest.raises(SerializationError, match=r"run 'bad'.*kwargs\['lock'\]"):
        broker.enqueue([envelope("fine"), envelope("bad", kwargs={"lock": threading.Lock()})])
    assert broker.get_run("fine") is None  # nothing half-added


def test_pickle_carries_what_json_cannot(sql_backend: BrokerBackend) -> None:
    broker = sql_backend.make(serializer="pickle")
    value = {1, 2, frozenset({3})}, complex(1, 2)
    broker.enqueue([envelope("a", args=value)])
    (delivery,) = broker.claim("w", ["default"], 1, at(1))
    assert delivery.envelope.args == value


def test_a_run_whose_work_cannot_be_read_fails_and_the_claim_goes_on(
    sql_backend: BrokerBackend,
) -> None:
    broker = sql(sql_backend.make())
    told: list[list[tuple[str, RunError]]] = []
    broker.add_failure_listener(told.append)
    broker.enqueue([envelope("broken", priority=5), envelope("fine")])
    table = broker.db.table
    with broker.db.engine.begin() as connection:
        statement = sa.update(table).where(table.c.id == "broken").values(payload=b"\x00junk")
        connection.execute(statement)
    assert ids(broker.claim("w", ["default"], 2, at(1))) == ["fine"]
    run = broker.get_run("broken")
    assert run is not None and run.status is RunStatus.FAILED and run.error is not None
    assert "cannot be decoded" in run.error.message
    assert told == [[("broken", RunError(run.error.type, run.error.message))]]


def test_cleanup_deletes_in_chunks(sql_backend: BrokerBackend) -> None:
    broker = sql_backend.make()
    broker.enqueue([envelope(f"r{i}") for i in range(1_203)])
    while deliveries := broker.claim("w", ["default"], 500, at(1)):
        for delivery in deliveries:
            broker.complete(delivery.run_id, delivery.token, None, at(2))
    broker.enqueue([envelope("waiting")])
    assert broker.cleanup(at(3)) == 1_203
    assert [run.id for run in broker.list_runs()] == ["waiting"]


def test_a_large_batch_is_added_once(sql_backend: BrokerBackend) -> None:
    broker = sql_backend.make()
    first = [envelope(f"r{i}") for i in range(1_500)]
    assert all(broker.enqueue(first))
    again = broker.enqueue([envelope("new"), *first[::2]])
    assert again[0] is True and not any(again[1:])


def test_a_bad_table_name_or_source_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="tablename"):
        SQLAlchemyBroker(f"sqlite:///{tmp_path}/x.db", tablename="runs; DROP TABLE x")
    with pytest.raises(ValueError, match="database"):
        SQLAlchemyBroker()
    with pytest.raises(TypeError, match="poll_interval"):
        SQLAlchemyBroker(f"sqlite:///{tmp_path}/x.db", poll_interval="1s")


def test_bad_urls_and_options_name_the_broker() -> None:
    with pytest.raises(ValueError, match=r"^SQLAlchemyBroker: database='runs.db' is not"):
        SQLAlchemyBroker("runs.db")
    with pytest.raises(ValueError, match=r"^SQLAlchemyBroker: the driver 'nosuchdriver'"):
        SQLAlchemyBroker("postgresql+nosuchdriver://host/db")
    with pytest.raises(ValueError, match=r"^SQLAlchemyBroker: 'postgresql\+psycopg_async' is an"):
        SQLAlchemyBroker("postgresql+psycopg_async://host/db")
    with pytest.raises(TypeError, match=r"^SQLAlchemyBroker got unexpected option"):
        SQLAlchemyBroker("sqlite://", engine_options={"no_such_option": 1})


def test_a_url_builds_a_sql_broker(tmp_path: Path) -> None:
    broker = make_broker(f"sqlite:///{tmp_path}/runs.db")
    assert isinstance(broker, SQLAlchemyBroker) and "runs.db" in repr(broker)
    broker.start()
    try:
        assert broker.enqueue([envelope("a")]) == [True]
    finally:
        drop_table(broker)
        broker.shutdown()


def test_wait_for_work_needs_a_started_broker(tmp_path: Path) -> None:
    broker = SQLAlchemyBroker(f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(RuntimeError, match="start"):
        broker.wait_for_work(["default"], 0.1)


def test_two_processes_worth_of_brokers_share_one_table(sql_backend: BrokerBackend) -> None:
    one, two = sql_backend.make(), sql_backend.make()
    one.enqueue([envelope("a")])
    assert two.enqueue([envelope("a")]) == [False]
    (delivery,) = two.claim("w2", ["default"], 1, at(1))
    assert one.complete("a", delivery.token, {"ok": True}, at(2))
    run = two.get_run("a")
    assert run is not None and run.result == {"ok": True}


def test_one_run_a_few_and_many_are_stored_alike(sql_backend: BrokerBackend) -> None:
    """PostgreSQL and MariaDB insert up to FEW runs with a VALUES statement sent by the
    driver, more with SQLAlchemy (arrays on PostgreSQL): the rows they write are alike."""
    broker = sql(sql_backend.make())
    fields = {"args": (1, "two"), "kwargs": {"k": [1.5]}, "queue": "q", "priority": -3,
              "due": at(5), "max_retries": 2, "timeout": 30.0, "max_deliveries": 5,
              "task_id": "t", "name": "job", "headers": {"key": "v"}}  # fmt: skip
    sizes = {"one": 1, "few": 3, "many": FEW + 1}
    for size, count in sizes.items():
        sent = [envelope(f"{size}{index:02}", **fields) for index in range(count)]
        assert broker.enqueue(sent, now=at(0)) == [True] * count
    t = broker.db.table
    columns = [column for column in t.c if column.name not in ("id", "batch")]
    with broker.db.engine.connect() as connection:
        rows = connection.execute(sa.select(t.c.id, *columns).order_by(t.c.id)).all()
    assert len(rows) == sum(sizes.values())
    assert all(row[1:] == rows[0][1:] for row in rows)


def test_an_enqueue_of_existing_ids_only_adds_nothing(sql_backend: BrokerBackend) -> None:
    broker = sql_backend.make()
    assert broker.enqueue([envelope("a"), envelope("b")]) == [True, True]
    assert broker.enqueue([envelope("a", priority=5)]) == [False]
    assert broker.enqueue([envelope("b", priority=5), envelope("a", priority=5)]) == [False, False]
    assert broker.enqueue([envelope("c"), envelope("a", priority=5)]) == [True, False]
    assert [run.priority for run in broker.list_runs()] == [0, 0, 0]


#: Values a statement must carry as they are: quotes, backslashes, a driver's placeholders,
#: control characters, non-ASCII.
ODD = ["plain", "qu'ote", 'dou"ble', "back\\slash", "per%cent %s %(x)s", "new\nline",
       "\x1a\t", "ünï©ødé ☃"]  # fmt: skip


@pytest.mark.parametrize("name", [*SQL_BACKENDS, "mariadb-mysqlclient"])
def test_a_batch_of_odd_values_reads_back_as_sent(name: str, tmp_path: Path) -> None:
    """A batch (more than FEW) goes as binary arrays (PostgreSQL; a column whose rows share
    one value, as that value) or as one statement of literals the driver escapes (MariaDB):
    odd text, binary payloads, NULLs and the extreme priorities read back as sent."""
    with made_backend(name, tmp_path) as backend:
        broker = backend.make(serializer="pickle")  # a payload of any bytes
        sent = [
            envelope(f"{index}-{text}", args=(text, b"\x00'\\\"%\xff", index), queue=text,
                     name=text if index % 2 else None, task_id=None if index % 3 else text,
                     priority=(-(2**63), 2**63 - 1, 0)[index % 3], due=at(index))
            for index, text in enumerate(ODD * 3)
        ]  # fmt: skip
        alike = [envelope(f"alike-{index}", queue=ODD[1], name=ODD[4], task_id=ODD[7])
                 for index in range(FEW + 1)]  # fmt: skip
        for batch in (sent, alike):
            assert broker.enqueue(batch, now=at(0)) == [True] * len(batch)
            assert [broker.get_envelope(envelope.run_id) for envelope in batch] == batch


@pytest.mark.parametrize("name", ["mariadb", "mariadb-mysqlclient"])
def test_a_batch_escapes_as_the_server_reads_without_backslash_escapes(
    name: str, tmp_path: Path
) -> None:
    """MariaDB's values are escaped by the driver, which follows the session's sql_mode: with
    NO_BACKSLASH_ESCAPES a backslash is a plain character and a quote is doubled."""
    mode = "SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_BACKSLASH_ESCAPES')"
    with made_backend(name, tmp_path) as backend:
        options = {"connect_args": {"init_command": mode}}
        broker = backend.make(serializer="pickle", engine_options=options)
        sent = [envelope(f"{index}-{text}", args=(text,), queue=text, name=text)
                for index, text in enumerate(ODD * 3)]  # fmt: skip
        assert broker.enqueue(sent, now=at(0)) == [True] * len(sent)
        assert [broker.get_envelope(envelope.run_id) for envelope in sent] == sent


def test_a_batch_through_another_mysql_driver_goes_through_sqlalchemy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MySQL driver whose escaping the broker does not use (neither mysqlclient nor
    PyMySQL) has its batches inserted by SQLAlchemy's ``INSERT IGNORE``, alike."""
    monkeypatch.setattr(inserts, "VALUES_DRIVERS", ())
    with made_backend("mariadb", tmp_path) as backend:
        broker = sql(backend.make())
        first = [envelope(f"r{index:02}") for index in range(FEW + 4)]
        assert broker.enqueue(first) == [True] * len(first)
        assert broker.enqueue([*first[::2], envelope("new")]) == [False] * 10 + [True]
        assert broker.get_envelope("r03") == first[3]


@pytest.mark.parametrize("engine_given", [False, True])
@pytest.mark.parametrize("kind", [MariaDBBackend, MySQLClientBackend], ids=["pymysql", "mysqldb"])
def test_a_batch_of_several_statements_is_added_whole_or_not_at_all(
    kind: type[SQLBackend], engine_given: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MariaDB: a batch too big for one INSERT is sent in several, in one transaction (on an
    engine of the broker's, of autocommit connections, as on one given by the user)."""
    kind.require()
    monkeypatch.setattr(inserts, "STATEMENT_BYTES", 1_000)  # a few rows each
    sent: list[int] = []
    statements = inserts.ValuesInserts._statements

    def counted(self: Any, *args: Any) -> Iterator[bytes]:
        made = list(statements(self, *args))
        sent.append(len(made))
        return iter(made)

    def failing(self: Any, *args: Any) -> Iterator[bytes]:
        yield from statements(self, *args)
        yield b"INSERT INTO no_such_table VALUES (1)"

    engine = sa.create_engine(kind.url, pool_size=1, max_overflow=0)
    with closing_engine(engine), made_backend(kind.name, tmp_path) as backend:
        assert isinstance(backend, SQLBackend)
        if engine_given:
            broker = SQLAlchemyBroker(engine=engine, tablename=f"b_{backend.token}")
            broker.start()
            backend.made.append(broker)
        else:
            broker = sql(backend.make())
        first = [envelope(f"r{index:02}") for index in range(40)]
        monkeypatch.setattr(inserts.ValuesInserts, "_statements", counted)
        assert broker.enqueue(first) == [True] * 40
        assert broker.enqueue([*first[::2], envelope("new")]) == [False] * 20 + [True]
        assert sent[0] > 2
        monkeypatch.setattr(inserts.ValuesInserts, "_statements", failing)
        failed = [envelope(f"s{index:02}") for index in range(40)]
        with pytest.raises(sa.exc.ProgrammingError):
            broker.enqueue(failed)
        assert len(broker.list_runs(limit=100)) == 41  # none of the failed batch
        monkeypatch.setattr(inserts.ValuesInserts, "_statements", statements)
        assert broker.enqueue(failed) == [True] * 40  # its connection is gone, not broken


@pytest.mark.parametrize("name", ["postgresql", "mariadb", "mariadb-mysqlclient"])
def test_a_failed_driver_statement_raises_as_sqlalchemy_and_drops_its_connection(
    name: str, tmp_path: Path
) -> None:
    """A one-run enqueue runs its statement through the driver itself: its errors are
    SQLAlchemy's (what the retry reads) and its connection leaves the pool, never handed
    back in autocommit or inside a transaction."""
    with made_backend(name, tmp_path) as backend:
        broker = sql(backend.make(engine_options={"pool_size": 1, "max_overflow": 0}))
        db = broker.db
        used = db.autocommit_engine or db.engine  # MariaDB: autocommit connections of its own

        def pooled() -> Any:  # the pool's one connection
            with used.connect() as connection:
                return connection.connection.driver_connection

        failing = pooled()
        with pytest.raises(sa.exc.ProgrammingError) as caught:  # not transient: raised
            db.driver_alone("SELECT no_such_column FROM no_such_table", {}, True)
        assert isinstance(caught.value.orig, db.engine.dialect.loaded_dbapi.Error)  # driver's
        assert pooled() is not failing
        with db.transaction() as connection:
            if db.is_postgresql:
                assert connection.connection.driver_connection.autocommit is False
            connection.execute(sa.delete(db.table))
        assert db.driver_alone("SELECT %(one)s", {"one": 1}, True) == ([(1,)], 1)


def test_a_one_run_enqueue_on_a_pinged_connection_goes_through(
    sql_backend: BrokerBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection idle for a while is pinged at checkout (the pool's event), before the
    driver's own statement of a one-run enqueue runs on it."""
    from asyncz_like.stores.sqlalchemy import engine as engines

    broker = sql_backend.make()
    monkeypatch.setattr(engines, "PING_IDLE_AFTER", -1.0)  # every checkout pings
    assert [broker.enqueue([envelope(f"r{i}")]) for i in range(3)] == [[True]] * 3
    assert broker.enqueue([envelope("r1")]) == [False]
    assert sorted(run.id for run in broker.list_runs()) == ["r0", "r1", "r2"]


@contextmanager
def closing_engine(engine: sa.Engine) -> Iterator[sa.Engine]:
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.mark.parametrize("engine_given", [False, True])
@pytest.mark.parametrize("kind", [MariaDBBackend, MySQLClientBackend], ids=["pymysql", "mysqldb"])
def test_a_one_run_enqueue_on_mariadb_commits_alone_on_an_engine_of_ours(
    kind: type[SQLBackend], engine_given: bool, tmp_path: Path
) -> None:
    """On an engine the broker made, a one-run enqueue is its INSERT IGNORE in autocommit
    (no COMMIT: one round trip); on an engine given by the user, INSERT IGNORE and COMMIT."""
    kind.require()
    engine = sa.create_engine(kind.url, pool_size=1, max_overflow=0)
    with closing_engine(engine), made_backend(kind.name, tmp_path) as backend:
        assert isinstance(backend, SQLBackend)
        if engine_given:
            broker = SQLAlchemyBroker(engine=engine, tablename=f"b_{backend.token}")
            broker.start()
            backend.made.append(broker)
        else:
            broker = sql(backend.make(engine_options={"pool_size": 1, "max_overflow": 0}))
        assert (broker.db.autocommit_engine is None) is engine_given

        def commits() -> int:
            rows, _ = broker.db.driver_alone("SHOW SESSION STATUS LIKE 'Com_commit'", {}, True)
            return int(rows[0][1])

        before = commits()
        assert [broker.enqueue([envelope(f"r{i}")]) for i in range(3)] == [[True]] * 3
        assert broker.enqueue([envelope("r0")]) == [False]
        assert commits() - before == (5 if engine_given else 0)  # the first read's commit too
        assert {run.id for run in broker.list_runs()} == {"r0", "r1", "r2"}


# -- PostgreSQL -----------------------------------------------------------------------------


def test_notify_wakes_an_idle_worker_within_milliseconds(postgres: BrokerBackend) -> None:
    waiter, sender = postgres.make(poll_interval=30), postgres.make()
    assert waiter.wait_for_work(["fast"], 0.01) is False  # listening from now on
    latencies = []
    for index in range(5):
        woke: list[float] = []

        def wait(woke: list[float] = woke) -> None:
            if waiter.wait_for_work(["fast"], 10):
                woke.append(time.monotonic())

        thread = threading.Thread(target=wait)
        thread.start()
        time.sleep(0.05)
        sent = time.monotonic()
        sender.enqueue([Envelope(f"r{index}", TARGET, queue="fast")])
        thread.join(15)
        assert woke, "not woken"
        latencies.append(woke[0] - sent)
        sql(waiter).claim("w", ["fast"], 10, at(10**6))
    assert sorted(latencies)[2] < 0.5  # generous: about a millisecond on an idle machine


def test_an_enqueue_notifies_the_queues_it_added_to_once(postgres: BrokerBackend) -> None:
    """A few runs (a VALUES statement) or more (the arrays): one NOTIFY each, naming the
    queues of the runs added; none when nothing was added."""
    import psycopg
    from sqlalchemy.engine import make_url

    assert isinstance(postgres, SQLBackend)
    broker = sql(postgres.make())
    url = make_url(postgres.url).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(url, autocommit=True) as listener:
        listener.execute(f'LISTEN "{broker.channel}"')
        broker.enqueue([Envelope("one", TARGET, queue="q1")])
        broker.enqueue([Envelope("one", TARGET, queue="q1")])  # there already: no NOTIFY
        broker.enqueue([Envelope("m1", TARGET, queue="q2"), Envelope("m2", TARGET, queue="q1")])
        broker.enqueue([Envelope("m1", TARGET), Envelope("m2", TARGET)])  # no NOTIFY
        broker.enqueue([Envelope("last", TARGET, queue="q3")])
        many = [
            Envelope(f"b{index}", TARGET, queue=f"q{index % 2 + 4}") for index in range(FEW + 1)
        ]
        broker.enqueue(many)  # the arrays' statement
        broker.enqueue(many)  # no NOTIFY
        broker.enqueue([Envelope("end", TARGET, queue="q6")])
        payloads = [note.payload for note in listener.notifies(timeout=5, stop_after=5)]
    assert payloads == ["q1", "q1\nq2", "q3", "q4\nq5", "q6"]


def test_a_connection_used_alone_goes_back_to_the_pool_in_transactions(
    postgres: BrokerBackend,
) -> None:
    """Enqueues, claims and finishes run alone in autocommit; the pool's next user of the
    connection gets it as a transaction again."""
    broker = sql(postgres.make(engine_options={"pool_size": 1, "max_overflow": 0}))
    broker.enqueue([envelope("a")])
    with broker.db.transaction() as connection:
        assert connection.connection.driver_connection.autocommit is False
        connection.execute(sa.delete(broker.db.table))
        connection.rollback()
    assert broker.get_run("a") is not None


def test_a_notify_for_another_queue_does_not_wake(postgres: BrokerBackend) -> None:
    waiter, sender = postgres.make(poll_interval=30), postgres.make()
    assert waiter.wait_for_work(["mine"], 0.01) is False
    sender.enqueue([Envelope("other", TARGET, queue="theirs")])
    assert waiter.wait_for_work(["mine"], 0.3) is False


def test_a_lost_listen_connection_is_opened_again(postgres: BrokerBackend) -> None:
    waiter = sql(postgres.make(poll_interval=0.1))
    assert waiter.wait_for_work(["q"], 0.01) is False
    with waiter.db.engine.connect() as connection:
        connection.execute(
            sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE query LIKE :listen AND pid <> pg_backend_pid()"),
            {"listen": f'LISTEN "{waiter.channel}"'},
        )  # fmt: skip
    assert waiter.wait_for_work(["q"], 1) is True  # may be work: it could not tell
    assert waiter.wait_for_work(["q"], 0.05) is False  # listening again
    postgres.make().enqueue([Envelope("r", TARGET, queue="q")])
    assert waiter.wait_for_work(["q"], 5) is True


def test_claims_read_only_unfinished_rows_on_postgresql(postgres: BrokerBackend) -> None:
    broker = sql(postgres.make())
    table = broker.db.table.name
    broker.enqueue([envelope("a")])
    with broker.db.engine.connect() as connection:
        connection.execute(sa.text("SET enable_seqscan = off"))
        plan = "\n".join(
            row[0]
            for row in connection.execute(
                sa.text(
                    f"EXPLAIN SELECT id FROM {table} WHERE status IN ('pending', 'retrying') "
                    "AND queue IN ('default') AND due <= 0 ORDER BY priority DESC, due LIMIT 5"
                )
            )
        )
    assert f"{table}_claim" in plan


@pytest.mark.parametrize("first_call", ["claim", "enqueue"])
@pytest.mark.parametrize("name", ["postgresql", "mariadb", "mariadb-mysqlclient"])
def test_a_dropped_connection_is_replaced_and_the_call_goes_through(
    name: str, first_call: str, tmp_path: Path
) -> None:
    """``first_call`` meets the cut connections first (a one-run enqueue on PostgreSQL: the
    driver's own statement, outside SQLAlchemy's Connection)."""
    from sqlalchemy.engine import make_url

    from tests.proxy import TcpProxy

    with made_backend(name, tmp_path) as backend:
        assert isinstance(backend, SQLBackend)
        url = make_url(backend.url)
        with TcpProxy(url.host or "127.0.0.1", url.port or 0) as proxy:
            backend.url = url.set(host="127.0.0.1", port=proxy.port).render_as_string(False)
            broker = backend.make()
            broker.enqueue([envelope("a")])
            proxy.stop()  # every pooled connection is cut
            proxy.start()
            try:
                if first_call == "enqueue":
                    assert broker.enqueue([envelope("b")]) == [True]
                (delivery,) = broker.claim("w", ["default"], 1, at(1))
                assert broker.complete("a", delivery.token, 1, at(2))
            finally:
                drop_table(broker)
                broker.shutdown()
                backend.made.clear()


def test_a_table_with_the_first_claim_index_gets_the_new_one(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs.db"
    first = SQLAlchemyBroker(url, tablename="runs")
    first.start()
    with first.db.engine.begin() as connection:  # the index as the first version named it
        connection.execute(sa.text("DROP INDEX runs_claim"))
        connection.execute(sa.text("CREATE INDEX runs_ready ON runs (queue, priority, due)"))
    first.shutdown()
    again = SQLAlchemyBroker(url, tablename="runs")
    again.start()
    try:
        names = {index["name"] for index in sa.inspect(again.db.engine).get_indexes("runs")}
        assert {"runs_claim", "runs_ready"} <= names
        assert again.enqueue([envelope("a")]) == [True]
    finally:
        again.shutdown()


def test_a_database_made_before_the_workers_table_gets_it(sql_backend: BrokerBackend) -> None:
    """A reader attached to a database of an older version lists no workers, without an
    error; the start of a worker of this version creates the table; then it lists them."""
    first = sql(sql_backend.make())
    first.db.workers_table.drop(first.db.engine)  # as an older version left it
    reader = SQLAlchemyBroker(first.db.engine.url.render_as_string(hide_password=False),
                              tablename=first.db.table.name)  # fmt: skip
    try:
        reader.attach()
        assert reader.list_workers(at(0)) == []
        assert reader.cleanup(at(0)) == 0
        worker = sql(sql_backend.make())  # started: creates what is missing
        assert sa.inspect(worker.db.engine).has_table(worker.db.workers_table.name)
        worker.register_worker(WorkerInfo("w", "h", 1, ("default",), 1, at(0), at(0)), at(1))
        assert [info.worker_id for info in reader.list_workers(at(1))] == ["w"]
    finally:
        reader.shutdown()


def test_a_server_without_skip_locked_is_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from asyncz_like.stores.sqlalchemy import engine as engines

    monkeypatch.setattr(engines, "skip_locked_supported", lambda engine: False)
    with made_backend("mariadb", tmp_path) as backend:
        broker = sql(backend.make())
        assert broker.db.skip_locked is False
        assert "claims of several workers will wait for each other" in caplog.text


def test_each_retry_of_a_transient_error_is_logged_with_its_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The broker retries as the SQL store does (one policy, in ``Transactions``): four
    attempts, each failed one logged with its number and the broker's table."""
    import logging

    broker = SQLAlchemyBroker(f"sqlite:///{tmp_path}/runs.db", tablename="retried_runs")
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    calls: list[int] = []

    def failing() -> str:
        calls.append(1)
        if len(calls) <= 2:
            raise sa.exc.DisconnectionError("gone")
        return "done"

    try:
        with caplog.at_level(logging.WARNING):
            assert broker.db.retry(failing) == "done"
        attempts = [getattr(r, "attempt", None) for r in caplog.records]
        assert attempts == [1, 2]
        assert all(getattr(r, "table", None) == "retried_runs" for r in caplog.records)
        assert len(slept) == 2
    finally:
        broker.shutdown()
