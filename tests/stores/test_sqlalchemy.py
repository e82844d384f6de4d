"""The SQL store beyond the contract: table creation races, concurrent claims, leases, killed
connections, engines passed in, the schema, and clear errors. SQLite, PostgreSQL, MariaDB."""

from __future__ import annotations

import logging
import multiprocessing
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from asyncz_like.events import STORE_RECORD_BROKEN
from asyncz_like.exceptions import MissingDependencyError, TaskConfigurationError
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from asyncz_like.stores.sqlalchemy import engine as sql_engine
from asyncz_like.tasks import Task
from tests.helpers import START, FakeClock, Recorder, manual_scheduler, noop
from tests.helpers import make_task as make_stored_task
from tests.stores.backends import BACKENDS, SQLBackend

SQL = ["sqlite", "postgresql", "mariadb"]


def make_task(task_id: str, offset: float | None) -> Task:
    return make_stored_task(task_id, offset, filled=True)


@pytest.fixture(params=SQL)
def sql(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLBackend]:
    backend = BACKENDS[request.param](tmp_path)
    assert isinstance(backend, SQLBackend)
    try:
        yield backend
    finally:
        backend.cleanup()


@pytest.fixture(params=["postgresql", "mariadb"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLBackend]:
    """A database server (SQLite, embedded, has no connection to kill)."""
    backend = BACKENDS[request.param](tmp_path)
    assert isinstance(backend, SQLBackend)
    try:
        yield backend
    finally:
        backend.cleanup()


def start(store: SQLAlchemyStore, clock: FakeClock | None = None) -> SQLAlchemyStore:
    manual_scheduler(clock, stores={"default": store}).start()
    return store


def stop(*stores: SQLAlchemyStore) -> None:
    for store in stores:
        scheduler: Any = store.scheduler  # the ManualScheduler that start() made
        scheduler.shutdown()


def made(backend: SQLBackend, clock: FakeClock | None = None, **options: Any) -> SQLAlchemyStore:
    store = backend.make(**options)
    assert isinstance(store, SQLAlchemyStore)
    return start(store, clock)


# -- the table is created once, however many processes start together --------------------


def _start_in_process(config: dict[str, Any], barrier: Any, index: int) -> None:
    try:
        config = dict(config)
        del config["type"]
        scheduler = manual_scheduler(stores={"default": SQLAlchemyStore(**config)})
        barrier.wait(timeout=30)
        scheduler.start()
        scheduler.add_task(noop, "interval", seconds=10, id=f"p{index}")
        scheduler.shutdown()
    except BaseException:
        traceback.print_exc()
        sys.exit(1)


def test_four_processes_create_the_table_once(sql: SQLBackend) -> None:
    probe = sql.make()  # not started: the table does not exist yet
    assert isinstance(probe, SQLAlchemyStore)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(4)
    processes = [
        context.Process(target=_start_in_process, args=(sql.config(), barrier, index))
        for index in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(45)
    assert [process.exitcode for process in processes] == [0] * 4
    start(probe)
    assert sorted(task.id for task in probe.get_all_tasks()) == ["p0", "p1", "p2", "p3"]
    stop(probe)


def test_a_duplicate_create_is_tolerated(sql: SQLBackend) -> None:
    from asyncz_like.stores.sqlalchemy import engine as engines

    store = made(sql)
    db = store._db
    for create in [lambda: db.table.create(db.engine)] + [
        lambda index=index: index.create(db.engine) for index in db.table.indexes
    ]:  # what the process that lost the race meets: its CREATE fails as a duplicate
        with pytest.raises(sa.exc.DBAPIError) as caught:
            create()
        assert engines.is_duplicate_object(caught.value), caught.value
    engines.ensure_table(db.engine, db.table)
    stop(store)


def test_schema_indexes_next_run_time(sql: SQLBackend) -> None:
    store = made(sql)
    indexes = sa.inspect(store._db.engine).get_indexes(store._db.table.name)
    assert ["next_run_time"] in [index["column_names"] for index in indexes]
    stop(store)


# -- claims ------------------------------------------------------------------------------


def _bulk_insert(store: SQLAlchemyStore, count: int) -> None:
    """Seed many due tasks in one transaction (the setup, not what is measured)."""
    from asyncz_like.serializers import encode_task

    rows = []
    for index in range(count):
        task = make_task(f"t{index:03d}", index % 7)
        rows.append({"id": task.id, "next_run_time": index % 7 + START.timestamp(),
                     "state": encode_task(task, store.serializer)})  # fmt: skip
    with store._db.engine.begin() as connection:
        connection.execute(store._db.table.insert(), rows)


def test_four_threads_claim_500_tasks_each_once(sql: SQLBackend) -> None:
    stores = [made(sql, batch_size=25) for _ in range(4)]
    _bulk_insert(stores[0], 500)
    now = START + timedelta(seconds=10)
    claimed: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(index: int) -> None:
        barrier.wait()
        while batch := stores[index].acquire_due_tasks(now, 60):
            claimed[index].extend(task.id for task in batch)

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(len(stores))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    counts = Counter(task_id for ids in claimed for task_id in ids)
    assert len(counts) == 500 and set(counts.values()) == {1}, counts.most_common(3)
    if sql.name != "sqlite":  # SKIP LOCKED: the others take the next rows, not nothing
        assert sum(1 for ids in claimed if ids) >= 2, "the claims ran side by side"
    print(f"{sql.name}: 500 claims by 4 stores in {elapsed * 1000:.0f} ms")
    stop(*stores)


def test_lease_takeover_and_a_lost_release_changes_nothing(
    sql: SQLBackend, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    one, two = made(sql, clock, lease_seconds=30), made(sql, clock, lease_seconds=30)
    one.add_task(make_task("l", 5))
    one.add_task(make_task("gone", 5))
    now = START + timedelta(seconds=10)
    held = {task.id: task for task in one.acquire_due_tasks(now, 10)}
    assert sorted(held) == ["gone", "l"]
    assert two.acquire_due_tasks(now, 10) == []
    assert two.get_due_tasks(now) == []  # claimed tasks are not listed as due
    # while claimed, the earliest moment to look again is the lease's end
    assert two.get_next_run_time() == now + timedelta(seconds=30)
    later = now + timedelta(seconds=31)  # the first holder died, or stalled
    taken = two.acquire_due_tasks(later, 10)
    assert sorted(task.id for task in taken) == ["gone", "l"]
    with caplog.at_level(logging.WARNING):
        one.release_task(held["l"], START + timedelta(seconds=999))
        one.release_task(held["gone"], None)
    assert len([r for r in caplog.records if "Lost the lease" in r.getMessage()]) == 2
    kept = two.lookup_task("l")
    assert kept is not None and kept.next_run_time == START + timedelta(seconds=5)
    assert one.acquire_due_tasks(later + timedelta(seconds=1), 10) == []  # two's lease holds
    by_id = {task.id: task for task in taken}
    two.release_task(by_id["l"], START + timedelta(seconds=70))
    two.release_task(by_id["gone"], None)
    assert [task.id for task in one.get_all_tasks()] == ["l"]
    assert one.get_next_run_time() == START + timedelta(seconds=70)
    stop(one, two)


def test_a_release_writes_the_run_time_column_only(sql: SQLBackend) -> None:
    store = made(sql)
    store.add_task(make_task("r", 5))
    table = store.database.table

    def row() -> tuple[bytes, float | None]:
        with store.database.transaction(write=False) as connection:
            found = connection.execute(
                sa.select(table.c.state, table.c.next_run_time).where(table.c.id == "r")
            ).one()
        return bytes(found[0]), found[1]

    state_before, _ = row()
    now = START + timedelta(seconds=10)
    (task,) = store.acquire_due_tasks(now, 10)
    store.release_task(task, START + timedelta(seconds=65))
    state_after, next_run_time = row()
    assert state_after == state_before  # the record is the same from fire to fire
    assert next_run_time == (START + timedelta(seconds=65)).timestamp()
    read = store.lookup_task("r")
    assert read is not None and read.next_run_time == START + timedelta(seconds=65)
    paused = make_task("r", None)
    store.update_task(paused)
    read = store.lookup_task("r")
    assert read is not None and read.next_run_time is None
    stop(store)


def test_expired_slots_of_any_task_are_purged_by_a_claim(sql: SQLBackend) -> None:
    clock = FakeClock()
    store = made(sql, clock, lease_seconds=30)
    for task_id in ("gone", "live"):
        store.add_task(make_task(task_id, 500))
    gone = store.acquire_run_slot(make_task("gone", 500), START)
    store.delete_task("gone")  # deleted while it ran: no claim looks at its slots again
    assert gone is not None
    store.acquire_due_tasks(START + timedelta(seconds=40), 10)  # purges: "gone" expired
    stale = store.acquire_run_slot(make_task("live", 500), START + timedelta(seconds=40))
    store.acquire_due_tasks(START + timedelta(seconds=80), 10)  # within the minute: no purge
    live = store.acquire_run_slot(make_task("live", 500), START + timedelta(seconds=80))
    assert stale is not None and live is not None  # "stale" has expired (lease of 30 s)
    store.acquire_due_tasks(START + timedelta(seconds=101), 10)  # purges "stale" only
    slots = store.database.slots.table
    with store.database.transaction(write=False) as connection:
        left = connection.execute(sa.select(slots.c.token)).scalars().all()
    assert left == [live]
    stop(store)


def test_a_due_broken_record_does_not_starve_the_others(sql: SQLBackend) -> None:
    store = made(sql, batch_size=2)
    events = Recorder()
    assert store.scheduler is not None
    store.scheduler.add_listener(events.listener, STORE_RECORD_BROKEN)
    for index in range(6):
        store.add_task(make_task(f"t{index}", index))
    for index in range(3):  # the three earliest are broken: a whole batch and more
        sql.corrupt(store, f"t{index}")
    now = START + timedelta(seconds=10)
    assert [task.id for task in store.acquire_due_tasks(now, 10)] == ["t3", "t4", "t5"]
    assert store.acquire_due_tasks(now, 10) == []
    assert store.get_due_tasks(now) == []
    assert sorted(store.get_broken_records()) == ["t0", "t1", "t2"]
    # t0 (broken) would say START + 0; the others are claimed until the lease ends
    assert store.get_next_run_time() == now + timedelta(seconds=store.lease_seconds)
    store.update_task(make_task("t0", 1))  # rewritten on purpose: readable again
    assert sorted(store.get_broken_records()) == ["t1", "t2"]
    assert sorted(event.task_id for event in events.events) == ["t0", "t1", "t2"]  # once each
    stop(store)


# -- connections -------------------------------------------------------------------------


def _backend_id(store: SQLAlchemyStore) -> int:
    engine = store._db.engine
    query = "SELECT pg_backend_pid()" if engine.dialect.name == "postgresql" else (
        "SELECT CONNECTION_ID()"
    )  # fmt: skip
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(query).scalar_one())


def _kill(backend: SQLBackend, target: int) -> None:
    """End one of our own test connections from the server side (never the server)."""
    admin = sa.create_engine(backend.url, poolclass=sa.NullPool)
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": target})
            alive = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
            deadline = time.monotonic() + 10
            while connection.execute(alive, {"pid": target}).scalar_one():
                connection.commit()  # the statistics are a snapshot per transaction
                assert time.monotonic() < deadline, "the killed backend is still there"
                time.sleep(0.01)
        else:
            connection.exec_driver_sql(f"KILL {target}")
    admin.dispose()


@pytest.mark.parametrize(
    ("options", "idle_after", "pinged"),
    [
        ({"pool_pre_ping": True}, None, True),
        ({"pool_pre_ping": False}, None, False),
        ({}, 0.0, True),  # the default: pinged, as it was idle (longer than 0 s)
        ({}, 3600.0, False),  # the default: in recent use, not pinged; the retry replaces it
    ],
    ids=["pre_ping", "retry", "idle_ping", "recent_retry"],
)
def test_a_connection_killed_server_side_is_recovered(
    server: SQLBackend, options: dict[str, Any], idle_after: float | None, pinged: bool,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    if idle_after is not None:
        monkeypatch.setattr(sql_engine, "PING_IDLE_AFTER", idle_after)
    store = made(server, pool_size=1, **options)
    store.add_task(make_task("k", 5))
    victim = _backend_id(store)
    _kill(server, victim)
    with caplog.at_level(logging.WARNING):
        task = store.lookup_task("k")  # a ping replaces it at checkout; else a retry does
    assert task is not None and task.id == "k"
    retried = any("Transient database error" in r.getMessage() for r in caplog.records)
    assert retried is not pinged
    assert _backend_id(store) != victim
    stop(store)


def test_an_engine_can_be_passed_in(sql: SQLBackend) -> None:
    probe = sql.make()
    assert isinstance(probe, SQLAlchemyStore)
    engine = sa.create_engine(sql.url)
    store = start(SQLAlchemyStore(engine=engine, tablename=probe._db.table.name))
    store.add_task(make_task("e", 5))
    stop(store)
    with engine.connect() as connection:  # the store leaves an engine it was given usable
        assert connection.execute(sa.select(probe._db.table.c.id)).scalars().all() == ["e"]
    engine.dispose()
    with pytest.raises(TypeError, match="pool_size"):
        SQLAlchemyStore(engine=engine, pool_size=3)


def test_ids_are_case_sensitive_and_bounded(sql: SQLBackend) -> None:
    store = made(sql)
    store.add_task(make_task("A", 5))
    store.add_task(make_task("a", 6))  # MariaDB's default collation would call these equal
    assert sorted(task.id for task in store.get_all_tasks()) == ["A", "a"]
    with pytest.raises(TaskConfigurationError, match="191"):
        store.add_task(make_task("x" * 192, 5))
    stop(store)


# -- errors that name the problem -----------------------------------------------------------


def test_bad_urls_and_options_fail_clearly() -> None:
    with pytest.raises(ValueError, match=r"not a SQLAlchemy URL.*sqlite:///tasks.db"):
        SQLAlchemyStore(database="tasks.db")
    with pytest.raises(ValueError, match=r"'mssql' dialect .* not supported"):
        SQLAlchemyStore(database="mssql+pyodbc://user:secret@host/db")
    with pytest.raises(ValueError, match=r"driver 'nosuchdriver' .* is unknown"):
        SQLAlchemyStore(database="postgresql+nosuchdriver://host/db")
    with pytest.raises(ValueError, match=r"driver 'cymysql' .* is not installed"):
        SQLAlchemyStore(database="mysql+cymysql://host/db")
    with pytest.raises(ValueError, match="either database"):
        SQLAlchemyStore()
    with pytest.raises(TypeError, match="lease_second"):
        SQLAlchemyStore(database="sqlite://", lease_second=3)
    with pytest.raises(ValueError, match="batch_size"):
        SQLAlchemyStore(database="sqlite://", batch_size=0)


def test_missing_sqlalchemy_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(MissingDependencyError, match=r"asyncz_like\[sqlalchemy\]"):
        SQLAlchemyStore(database="sqlite://")


@pytest.mark.parametrize(
    ("database", "module", "extra"),
    [
        ("postgresql+psycopg://host/db", "psycopg", "postgres"),
        ("mysql+pymysql://host/db", "pymysql", "mysql"),
        ("mysql+mysqldb://host/db", "MySQLdb", "mysqlclient"),
    ],
)
def test_a_missing_driver_names_its_extra(
    database: str, module: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError, match=rf"asyncz_like\[{extra}\]"):
        SQLAlchemyStore(database=database)


def test_an_in_memory_sqlite_database_is_shared_by_threads() -> None:
    store = start(SQLAlchemyStore(database="sqlite://"))
    store.add_task(make_task("m", 5))
    found: list[Any] = []
    thread = threading.Thread(target=lambda: found.append(store.lookup_task("m")))
    thread.start()
    thread.join()
    assert found[0] is not None and found[0].id == "m"
    stop(store)


AWKWARD_IDS = ['q"uote', "back\\slash", "comma,x", "{brace}", " space ", "NULL", "é", "plain"]


def test_ids_of_any_text_go_through_claims_slots_and_releases(sql: SQLBackend) -> None:
    """On PostgreSQL lists of ids travel as arrays: every character must survive."""
    store = made(sql)
    for task_id in AWKWARD_IDS:
        store.add_task(make_task(task_id, 1))
    now = START + timedelta(seconds=5)
    claimed = store.acquire_due_tasks(now, 100)
    assert sorted(task.id for task in claimed) == sorted(AWKWARD_IDS)
    tokens = store.acquire_run_slots(claimed, now)
    assert all(token is not None for token in tokens)
    assert store.acquire_run_slots(claimed, now) == [None] * len(claimed)  # max_instances 1
    pairs = [(task.id, token) for task, token in zip(claimed, tokens, strict=True)]
    store.release_run_slots(pairs)  # type: ignore[arg-type]
    later = START + timedelta(seconds=61)
    releases = [(task, later if task.id != "NULL" else None) for task in claimed]
    assert store.release_tasks(releases) == []
    assert store.lookup_task("NULL") is None
    stored = {task.id: task.next_run_time for task in store.get_all_tasks()}
    assert stored == {task_id: later for task_id in AWKWARD_IDS if task_id != "NULL"}
    assert store.acquire_run_slots(claimed[:1], now)[0] is not None  # the slots were freed
    stop(store)


def test_retry_makes_four_attempts_with_backoff_and_says_which(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The first attempt runs outside tenacity; the waits and the count stay as they were."""
    from asyncz_like.stores.sqlalchemy import transactions

    store = SQLAlchemyStore(database=f"sqlite:///{tmp_path / 'r.db'}")
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    calls: list[int] = []

    def failing(times: int) -> str:
        calls.append(1)
        if len(calls) <= times:
            raise sa.exc.DisconnectionError("gone")
        return "done"

    with caplog.at_level(logging.WARNING):
        assert store.database.retry(failing, 2) == "done"
    assert len(calls) == 3
    assert [r.attempt for r in caplog.records] == [1, 2]  # type: ignore[attr-defined]
    assert 0.05 <= slept[0] <= 0.1 and 0.1 <= slept[1] <= 0.15
    calls.clear()
    with pytest.raises(sa.exc.DisconnectionError):
        store.database.retry(failing, 99)
    assert len(calls) == transactions.ATTEMPTS
    calls.clear()

    def broken() -> None:
        calls.append(1)
        raise ValueError("not transient")

    with pytest.raises(ValueError, match="not transient"):
        store.database.retry(broken)
    assert len(calls) == 1
    store.database.dispose()


def test_skip_locked_is_probed_on_a_fresh_engine_and_its_absence_told(
    server: SQLBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    store = server.make()  # checks that the server is there
    fresh = sa.create_engine(server.url)
    try:
        assert fresh.dialect.server_version_info is None  # not read before a connection
        assert sql_engine.skip_locked_supported(fresh)  # the test servers are recent enough
    finally:
        fresh.dispose()
    monkeypatch.setattr(sql_engine, "skip_locked_supported", lambda engine: False)
    start(store)
    assert "claims of several schedulers will wait for each other" in caplog.text
    db = store._db  # type: ignore[attr-defined]
    claimable = db.sql.claimable((), 1).compile(dialect=db.engine.dialect)
    assert "SKIP LOCKED" not in str(claimable) and "FOR UPDATE" in str(claimable)
