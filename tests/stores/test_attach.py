"""``attach``: a store opened on what exists, creating nothing (for the command line), and
records read without importing their functions."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.exceptions import StoreNotFoundError
from asyncz_like.stores.base import BaseStore
from asyncz_like.tasks.unresolved import UnresolvedFunction, functions_not_imported
from tests.helpers import FakeClock, manual_scheduler, noop
from tests.helpers import make_task as make_stored_task
from tests.stores.backends import Backend, RedisBackend, SQLBackend, made_backend

PERSISTENT = ["file", "sqlite", "postgresql", "mariadb", "redis"]


@pytest.fixture(params=PERSISTENT)
def persistent(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with made_backend(request.param, tmp_path) as made:
        yield made


def attached(backend: Backend) -> BaseStore:
    store = backend.make()
    store.attach(manual_scheduler(FakeClock()), "default")
    return store


def storage_exists(backend: Backend) -> bool:
    """Whether anything of the backend's storage exists (file, table, key)."""
    if isinstance(backend, SQLBackend):
        import sqlalchemy as sa

        sqlite_file = Path(backend.url.removeprefix("sqlite:///"))
        if backend.url.startswith("sqlite:///") and not sqlite_file.exists():
            return False
        engine = sa.create_engine(backend.url)
        try:
            return sa.inspect(engine).has_table(f"t_{backend.token}")
        finally:
            engine.dispose()
    if isinstance(backend, RedisBackend):
        store: Any = backend.make()
        try:
            return any(store.client.scan_iter(f"test.{backend.token}.*"))
        finally:
            store.shutdown()
    return (backend.tmp_path / "tasks").exists()


def test_attach_to_nothing_creates_nothing(persistent: Backend) -> None:
    if isinstance(persistent, RedisBackend):  # no key is an empty store: nothing to refuse
        store = attached(persistent)
        assert store.get_all_tasks() == [] and store.lookup_task("a") is None
        store.shutdown()
    else:
        with pytest.raises(StoreNotFoundError, match="nothing was created"):
            attached(persistent)
    assert not storage_exists(persistent)


def test_attach_reads_and_changes_what_a_scheduler_stored(persistent: Backend) -> None:
    scheduler = manual_scheduler(FakeClock(), stores={"default": persistent.make()})
    scheduler.start()
    owner = scheduler.lookup_store("default")
    owner.add_task(make_stored_task("a", 10, noop, filled=True))
    store = attached(persistent)
    [task] = store.get_all_tasks()
    task.next_run_time = None
    store.update_task(task)
    store.shutdown()
    assert owner.lookup_task("a").next_run_time is None  # type: ignore[union-attr]
    scheduler.shutdown()


def test_a_function_that_does_not_import_is_no_reason_to_be_broken(
    persistent: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = types.ModuleType("az_attach_gone")
    exec("def job(x):\n    return x\n", module.__dict__)
    module.job.__module__ = "az_attach_gone"
    monkeypatch.setitem(sys.modules, "az_attach_gone", module)
    scheduler = manual_scheduler(FakeClock(), stores={"default": persistent.make()})
    scheduler.start()
    scheduler.lookup_store("default").add_task(
        make_stored_task("a", 10, module.job, filled=True, args=[1])
    )
    scheduler.shutdown()
    monkeypatch.delitem(sys.modules, "az_attach_gone")  # gone: not importable any more
    store = attached(persistent)
    with functions_not_imported():
        [task] = store.get_all_tasks()
        assert isinstance(task.fn, UnresolvedFunction) and task.args == (1,)
        assert task.fn_reference == "az_attach_gone:job"
        task.next_run_time = None
        store.update_task(task)  # written back with its reference
    with pytest.raises(LookupError, match="az_attach_gone"):
        task.fn(1)
    store.shutdown()
    store = attached(persistent)
    assert store.get_all_tasks() == []  # outside: broken, as it was, the cause named
    assert "No module named 'az_attach_gone'" in store.get_broken_records()["a"]
    store.shutdown()
    monkeypatch.setitem(sys.modules, "az_attach_gone", module)
    store = attached(persistent)
    [task] = store.get_all_tasks()
    assert task.fn is module.job and task.next_run_time is None
    store.shutdown()
