"""Tests for asyncz_like.locks: file locks across processes, placeholders, null and thread locks."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Generator, Iterator
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from asyncz_like.locks import (
    FileLockProtected,
    LockProtected,
    LockProtectedProtocol,
    NullLockProtected,
    RLockProtected,
    ThreadLockProtected,
    expand_lock_path,
)

SPAWN = multiprocessing.get_context("spawn")


def _hold_lock(path: str, conn: Connection) -> None:
    """Child process: take the lock, report, hold it until told to let go."""
    lock = FileLockProtected(path)
    with lock.protected(False) as got_it:
        conn.send(got_it)
        conn.recv()
    conn.send("released")


def _try_lock(path: str, conn: Connection) -> None:
    """Child process: report whether a non-blocking attempt succeeds."""
    with FileLockProtected(path).protected(False) as got_it:
        conn.send(got_it)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[str, Connection]]:
    """Another process that holds ``tmp_path/store.lock`` until sent a message."""
    path = str(tmp_path / "store.lock")
    parent, child = SPAWN.Pipe()
    process = SPAWN.Process(target=_hold_lock, args=(path, child))
    process.start()
    try:
        assert parent.poll(10), "the holder process did not start"
        assert parent.recv() is True
        yield path, parent
    finally:
        if process.is_alive() and not parent.closed:
            parent.send("go")
        process.join(10)
        parent.close()
        child.close()


def test_lock_held_by_another_process_is_not_granted(holder: tuple[str, Connection]) -> None:
    path, _ = holder
    lock = FileLockProtected(path)
    with lock.protected(False) as got_it:
        assert got_it is False
    assert not lock.is_locked


def test_lock_is_granted_after_the_other_process_releases(
    holder: tuple[str, Connection],
) -> None:
    path, conn = holder
    conn.send("go")
    assert conn.poll(10)
    assert conn.recv() == "released"
    with FileLockProtected(path).protected(False) as got_it:
        assert got_it is True


def test_blocking_with_timeout_gives_up(holder: tuple[str, Connection]) -> None:
    path, _ = holder
    started = time.monotonic()
    with FileLockProtected(path).protected(True, timeout=0.05) as got_it:
        assert got_it is False
    assert 0.04 <= time.monotonic() - started < 1


def test_other_process_cannot_take_a_lock_held_here(tmp_path: Path) -> None:
    path = str(tmp_path / "here.lock")
    parent, child = SPAWN.Pipe()
    with FileLockProtected(path).protected(False) as got_it:
        assert got_it is True
        process = SPAWN.Process(target=_try_lock, args=(path, child))
        process.start()
        assert parent.poll(10)
        assert parent.recv() is False
        process.join(10)
    parent.close()
    child.close()


def test_lock_is_released_on_exit(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    first, second = FileLockProtected(path), FileLockProtected(path)
    with first.protected(False) as got_it:
        assert got_it is True
        assert first.is_locked
    assert not first.is_locked
    with second.protected(False) as got_it:
        assert got_it is True


def test_lock_is_released_when_the_body_raises(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    lock = FileLockProtected(path)
    with pytest.raises(RuntimeError, match="boom"), lock.protected(False) as got_it:
        assert got_it is True
        raise RuntimeError("boom")
    assert not lock.is_locked
    with FileLockProtected(path).protected(False) as got_it:
        assert got_it is True


def test_two_instances_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    with (
        FileLockProtected(path).protected(False) as first,
        FileLockProtected(path).protected(False) as second,
    ):
        assert (first, second) == (True, False)


def test_one_instance_is_reentrant(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    lock = FileLockProtected(path)
    with lock.protected(False) as outer:
        with lock.protected(False) as inner:
            assert (outer, inner) == (True, True)
        assert lock.is_locked, "the inner exit must not release the outer hold"
        with FileLockProtected(path).protected(False) as other:
            assert other is False
    assert not lock.is_locked


def test_blocking_waits_until_the_holder_lets_go(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    holder = FileLockProtected(path)
    taken = threading.Event()

    def hold_briefly() -> None:
        with holder.protected(False):
            taken.set()
            time.sleep(0.1)

    thread = threading.Thread(target=hold_briefly)
    thread.start()
    assert taken.wait(5)
    with FileLockProtected(path).protected(True, timeout=5) as got_it:
        assert got_it is True
    thread.join()


def test_blocking_without_timeout_gets_a_free_lock(tmp_path: Path) -> None:
    with FileLockProtected(str(tmp_path / "a.lock")).protected(True) as got_it:
        assert got_it is True


def test_non_blocking_ignores_the_timeout(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    with FileLockProtected(path).protected(False):
        started = time.monotonic()
        with FileLockProtected(path).protected(False, timeout=5) as got_it:
            assert got_it is False
        assert time.monotonic() - started < 1


def test_release_from_another_thread_frees_the_file(tmp_path: Path) -> None:
    """A generator holding the lock across ``yield`` may be resumed on another thread."""
    path = str(tmp_path / "a.lock")
    lock = FileLockProtected(path)

    def lifecycle() -> Generator[bool, None, None]:
        with lock.protected(False) as got_it:
            yield got_it

    generator = lifecycle()
    assert next(generator) is True
    thread = threading.Thread(target=generator.close)
    thread.start()
    thread.join()
    assert not lock.is_locked
    with FileLockProtected(path).protected(False) as got_it:
        assert got_it is True


def test_shutdown_releases_a_held_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "a.lock")
    lock = FileLockProtected(path)
    context = lock.protected(False)
    assert context.__enter__() is True
    with lock.protected(False):
        lock.shutdown()
    assert not lock.is_locked
    with FileLockProtected(path).protected(False) as got_it:
        assert got_it is True
    lock.shutdown()  # idempotent when nothing is held
    context.__exit__(None, None, None)  # exiting after shutdown is harmless
    assert not lock.is_locked
    assert Path(path).exists(), "the lock file is left in place"


def test_placeholders_are_substituted(tmp_path: Path) -> None:
    lock = FileLockProtected(str(tmp_path / "x_{pgrp}_{ppid}_{pid}_{store}.lock"))
    expected = f"x_{os.getpgrp()}_{os.getppid()}_{os.getpid()}_{{store}}.lock"
    assert lock.file_path == str(tmp_path / expected)


def test_expand_lock_path_leaves_other_braces_alone() -> None:
    assert expand_lock_path("/tmp/{store}_{other}.lock") == "/tmp/{store}_{other}.lock"
    assert expand_lock_path("/tmp/{pid}{pid}") == f"/tmp/{os.getpid()}{os.getpid()}"


def test_seed_usage(tmp_path: Path) -> None:
    name = "report"
    file_lock = FileLockProtected(f"{tmp_path}/asyncz_bg_{name}_{{pgrp}}.lock")
    assert file_lock.file_path == f"{tmp_path}/asyncz_bg_report_{os.getpgrp()}.lock"
    with file_lock.protected(False) as got_the_lock:
        assert got_the_lock


def test_null_lock_always_grants() -> None:
    lock = NullLockProtected()
    with lock.protected(False) as first, lock.protected(True, timeout=0) as second:
        assert (first, second) == (True, True)
    lock.shutdown()


def test_thread_lock_is_not_reentrant_and_rlock_is() -> None:
    lock, rlock = ThreadLockProtected(), RLockProtected()
    with lock.protected() as outer, lock.protected(True, timeout=0.05) as inner:
        assert (outer, inner) == (True, False)
    with rlock.protected() as outer, rlock.protected() as inner:
        assert (outer, inner) == (True, True)
    with lock.protected(True) as again:
        assert again is True


def test_every_lock_satisfies_the_protocol(tmp_path: Path) -> None:
    locks: list[LockProtected] = [
        FileLockProtected(str(tmp_path / "a.lock")),
        NullLockProtected(),
        ThreadLockProtected(),
        RLockProtected(),
    ]
    assert all(isinstance(lock, LockProtected) for lock in locks)
    assert LockProtectedProtocol is LockProtected
