"""The multi-process snippets of the seed page asyncz-tasks.txt, run as written.

Each snippet is kept verbatim (asyncz -> asyncz_like) and run as a module of its own, so that
its functions are importable globals, as the file store needs (``lifecycle_tick`` is stored
by reference). Three changes only, made by the runner: ``tempfile.mkdtemp()`` makes its
directory under the test's tmp directory, the ``/tmp/`` of the lock paths is that directory
too, and the ``...`` that stands for the application's life between start and stop runs one
tick at once (``run_task``) instead of waiting five minutes.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import tempfile
import types
import uuid
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.events import TASK_ERROR, TASK_EXECUTED
from asyncz_like.executors.asyncio import AsyncIOExecutor
from asyncz_like.locks import FileLockProtected
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.stores.file import FileStore
from asyncz_like.triggers import IntervalTrigger, ShutdownTrigger

TICK_WITH_SHUTDOWN = """
import tempfile
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.utils import make_function

# Create a scheduler
scheduler = AsyncIOScheduler(
    lock_path="/tmp/asyncz_{pgrp}_{store}.lock",
    stores={
        "default": {"type": "file", "directory": tempfile.mkdtemp(), "cleanup_directory": True},
        "memory": {"type": "memory"},
    },
)


def lifecycle_task():
    # setup
    ...
    # we have to mask generator send so it could be set to a task
    scheduler.add_task(
        make_function(generator.send), args=[False], trigger="shutdown", store="memory"
    )
    running = yield
    while running:
        # do something
        running = yield
    # cleanup


# setup task
generator = lifecycle_task()
generator.send(None)


# must be a global referencable function
def lifecycle_tick():
    generator.send(True)


# Run every 5 minutes
scheduler.add_task(lifecycle_tick, trigger="interval", minutes=5)

scheduler.start()
...
# Now the shutdown task is executed and the generator progresses in the cleanup
scheduler.stop()
"""

TICK_WITHOUT_SHUTDOWN = """
import tempfile
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.utils import make_function

# Create a scheduler
scheduler = AsyncIOScheduler(
    lock_path="/tmp/asyncz_{pgrp}_{store}.lock",
    stores={
        "default": {"type": "file", "directory": tempfile.mkdtemp(), "cleanup_directory": True},
    },
)


def lifecycle_task():
    # setup
    ...
    running = yield
    while running:
        # do something
        running = yield
    # cleanup


# setup task
generator = lifecycle_task()
generator.send(None)


# must be a global referencable function
def lifecycle_tick():
    generator.send(True)


# Run every 5 minutes
scheduler.add_task(lifecycle_tick, trigger="interval", minutes=5)

scheduler.start()
...
# Now the shutdown task is executed and the generator progresses in the cleanup
scheduler.stop()
"""

ONE_CONCURRENT = """
import tempfile
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.utils import make_function
from asyncz_like.locks import FileLockProtected

# Create a scheduler
scheduler = AsyncIOScheduler(
    lock_path="/tmp/asyncz_{pgrp}_{store}.lock",
    stores={
        "default": {"type": "file", "directory": tempfile.mkdtemp(), "cleanup_directory": True},
        "memory": {"type": "memory"},
    },
)


def lifecycle_task(name: str):
    # setup initial
    ...
    # intialize a file lock (multi-processing safe)
    file_lock = FileLockProtected(f"/tmp/asyncz_bg_{name}_{{pgrp}}.lock")
    while True:
        # don't block the generator
        with file_lock.protected(False) as got_the_lock:
            if not got_the_lock:
                running = yield
                if not running:
                    break
                continue
            # delayed setup phase. Only executed when the lock was grabbed. e.g. for  creating db clients.
            ...
            # we have to mask generator send so it could be set to a task
            scheduler.add_task(
                make_function(generator.send), args=[False], trigger="shutdown", store="memory"
            )
            running = yield
            while running:
                # do something safe
                try:
                    # do something risky
                    ...
                except Exception:
                    # log
                    ...
                running = yield
            try:
                # cleanup the loop setup
                ...
            except Exception:
                # log
                ...
            # break the loop
            break
    # extra cleanup which is always executed except an exception was raised


# setup task
generator = lifecycle_task("foo")
generator.send(None)


# must be a global referencable function
def lifecycle_tick():
    generator.send(True)


# Run every 5 minutes
scheduler.add_task(lifecycle_tick, trigger="interval", minutes=5)

# should be better a context manager or lifespan wrapper (.asgi) to cleanup on unexpected errors
with scheduler:
    ...
    # Now the shutdown task is executed and the generator progresses in the cleanup
"""  # noqa: E501  # the seed's own long comment line

ONE_CONCURRENT_LOWER_ACCURACY = """
import tempfile
from asyncz_like.schedulers import AsyncIOScheduler
from asyncz_like.tasks import Task
from asyncz_like.utils import make_function
from asyncz_like.locks import FileLockProtected

# Create a scheduler
scheduler = AsyncIOScheduler()


def lifecycle_task(name: str):
    # setup initial
    ...
    # intialize a file lock (multi-processing safe)
    file_lock = FileLockProtected(f"/tmp/asyncz_bg_{name}_{{pgrp}}.lock")
    while True:
        # don't block the generator
        with file_lock.protected(False) as got_the_lock:
            if not got_the_lock:
                running = yield
                if not running:
                    break
                continue
            # delayed setup phase. Only executed when the lock was grabbed. e.g. for  creating db clients.
            ...
            # we have to mask generator send so it could be set to a task
            scheduler.add_task(make_function(generator.send), args=[False], trigger="shutdown")
            running = yield
            while running:
                # do something safe
                try:
                    # do something risky
                    ...
                except Exception:
                    # log
                    ...
                running = yield
            try:
                # cleanup the loop setup
                ...
            except Exception:
                # log
                ...
            # break the loop
            break
    # extra cleanup which is always executed except an exception was raised


# setup task
generator = lifecycle_task("foo")
generator.send(None)


# Run every 5 minutes
scheduler.add_task(make_function(generator.send), args=[True], trigger="interval", minutes=5)

# should be better a context manager or lifespan wrapper (.asgi) to cleanup on unexpected errors
with scheduler:
    ...
    # Now the shutdown task is executed and the generator progresses in the cleanup
"""  # noqa: E501  # the seed's own long comment line

#: Where the application's life goes: right after start, or the body of ``with scheduler:``.
_LIFE = [("scheduler.start()\n...\n", "scheduler.start()\n__life__(scheduler)\n"),
         ("with scheduler:\n    ...\n", "with scheduler:\n    __life__(scheduler)\n")]  # fmt: skip


class Snippet:
    """Runs a snippet as module ``tests.unit._seed_<hex>``; records what its life saw."""

    def __init__(self, source: str, tmp_path: Path, during: Any = None) -> None:
        for old, new in _LIFE:
            source = source.replace(old, new)
        assert "__life__" in source
        self.source = source.replace('"/tmp/', f'"{tmp_path}/')  # also in f"/tmp/..."
        self.during = during
        self.events: list[Any] = []
        self.seen: dict[str, Any] = {}
        self.module = types.ModuleType(f"tests.unit._seed_{uuid.uuid4().hex[:8]}")

    def run(self) -> Snippet:
        self.module.__dict__["__life__"] = self.life
        sys.modules[self.module.__name__] = self.module
        try:
            exec(compile(self.source, self.module.__name__, "exec"), self.module.__dict__)
        finally:
            del sys.modules[self.module.__name__]
        return self

    def life(self, scheduler: AsyncIOScheduler) -> None:
        """One tick now instead of after five minutes; then look around."""
        scheduler.add_listener(self.events.append, TASK_EXECUTED | TASK_ERROR)
        tasks = scheduler.get_tasks()
        (tick,) = [task for task in tasks if isinstance(task.trigger, IntervalTrigger)]
        self.seen["tick_id"] = tick.id
        self.seen["tick_store"] = tick.store_alias
        self.seen["shutdown_tasks"] = [t for t in tasks if isinstance(t.trigger, ShutdownTrigger)]
        store = scheduler.lookup_store("default")
        if isinstance(store, FileStore):
            self.seen["directory"] = store.directory
            self.seen["record"] = store.path_for(tick.id).is_file()
        scheduler.run_task(tick.id)
        loop = scheduler.event_loop
        assert loop is not None and scheduler.event_loop_thread is not None  # runs by itself
        asyncio.run_coroutine_threadsafe(_settle(scheduler), loop).result(timeout=30)
        if self.during is not None:
            self.during()

    @property
    def generator_state(self) -> str:
        return inspect.getgeneratorstate(self.module.generator)

    def outcomes(self) -> list[tuple[str, int]]:
        """(``tick`` or ``shutdown``, event code) of every run, in order."""
        tick = self.seen["tick_id"]
        return [("tick" if e.task_id == tick else "shutdown", e.code) for e in self.events]


async def _settle(scheduler: AsyncIOScheduler) -> None:
    executor = scheduler.lookup_executor("default")
    assert isinstance(executor, AsyncIOExecutor)
    await executor.wait_idle()
    await asyncio.sleep(0)


@pytest.fixture(autouse=True)
def mkdtemp_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


def test_tick_only_one_lifecycle_task_with_shutdown(tmp_path: Path) -> None:
    snippet = Snippet(TICK_WITH_SHUTDOWN, tmp_path).run()
    assert snippet.outcomes() == [("tick", TASK_EXECUTED), ("shutdown", TASK_EXECUTED)]
    assert snippet.seen["tick_store"] == "default" and snippet.seen["record"]
    assert len(snippet.seen["shutdown_tasks"]) == 1
    assert snippet.generator_state == inspect.GEN_CLOSED  # the shutdown task ran the cleanup
    directory = snippet.seen["directory"]
    assert directory.parent == tmp_path and not directory.exists()  # cleanup_directory


def test_tick_only_one_lifecycle_task_without_shutdown(tmp_path: Path) -> None:
    snippet = Snippet(TICK_WITHOUT_SHUTDOWN, tmp_path).run()
    assert snippet.outcomes() == [("tick", TASK_EXECUTED)]
    assert snippet.seen["record"] and snippet.seen["shutdown_tasks"] == []
    assert snippet.generator_state == inspect.GEN_SUSPENDED  # no shutdown task: no cleanup
    assert not snippet.seen["directory"].exists()


def test_only_one_concurrent_lifecycle_task(tmp_path: Path) -> None:
    second: list[Snippet] = []

    def another_process_meanwhile() -> None:
        # the same snippet while the first holds the lifecycle lock: its setup never runs
        second.append(Snippet(ONE_CONCURRENT, tmp_path).run())

    first = Snippet(ONE_CONCURRENT, tmp_path, during=another_process_meanwhile).run()
    assert first.outcomes() == [("tick", TASK_EXECUTED), ("shutdown", TASK_EXECUTED)]
    assert first.seen["record"]
    assert len(first.seen["shutdown_tasks"]) == 1
    assert first.generator_state == inspect.GEN_CLOSED
    (other,) = second
    assert other.outcomes() == [("tick", TASK_EXECUTED)]  # it ran, and found the lock taken
    assert other.seen["shutdown_tasks"] == []
    assert other.generator_state == inspect.GEN_SUSPENDED
    assert not first.seen["directory"].exists() and not other.seen["directory"].exists()
    lock = FileLockProtected(str(tmp_path / "asyncz_bg_foo_{pgrp}.lock"))
    with lock.protected(False) as got_the_lock:
        assert got_the_lock  # released by the first one's cleanup
    other.module.generator.close()


def test_only_one_concurrent_lifecycle_task_with_lower_accuracy(tmp_path: Path) -> None:
    snippet = Snippet(ONE_CONCURRENT_LOWER_ACCURACY, tmp_path).run()
    assert snippet.outcomes() == [("tick", TASK_EXECUTED), ("shutdown", TASK_EXECUTED)]
    assert snippet.seen["tick_store"] == "default" and "directory" not in snippet.seen
    assert len(snippet.seen["shutdown_tasks"]) == 1
    assert snippet.generator_state == inspect.GEN_CLOSED
