"""The file store beyond the contract: atomic writes, file names, leases, the index, cleanup."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncz_like.events import STORE_RECORD_BROKEN
from asyncz_like.exceptions import (
    BrokenRecordError,
    ConflictIdError,
    TaskConfigurationError,
    TaskLookupError,
)
from asyncz_like.serializers import encode_task, get_serializer
from asyncz_like.stores import STORES
from asyncz_like.stores.file import FileStore, _index, _records
from asyncz_like.stores.file._names import decode_name, encode_name
from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger
from tests.helpers import START, FakeClock, Recorder, make_task, manual_scheduler, noop

ROOT = Path(__file__).resolve().parents[2]


def at(offset: float) -> datetime:
    return START + timedelta(seconds=offset)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "tasks"


def leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


# -- options --------------------------------------------------------------------------------


def test_options_and_alias(folder: Path) -> None:
    store = STORES.build({"type": "file", "directory": folder, "suffix": ".job"}, "stores")
    assert isinstance(store, FileStore) and store.does_io and store.poll_interval == 1.0
    assert store.path_for("a") == folder / "a.job"
    with pytest.raises(TypeError, match="colour"):
        FileStore(folder, colour="red")
    with pytest.raises(ValueError, match="suffix"):
        FileStore(folder, suffix="/x")
    with pytest.raises(ValueError, match="lease_seconds"):
        FileStore(folder, lease_seconds=0)
    assert not folder.exists()  # made on first use, not by the constructor
    store.add_task(make_task("a", 1))
    assert (folder / "a.job").is_file()
    assert folder.stat().st_mode & 0o777 == 0o700  # asyncz's mode option, and its default


# -- atomic writes --------------------------------------------------------------------------

CRASH = """
import os, sys
from asyncz_like.stores.file import FileStore
store = FileStore(sys.argv[1])
task = store.lookup_task("keep")
task.args = ("new",)
os.replace = lambda *args, **kwargs: os._exit(3)  # the process dies between write and rename
store.update_task(task)
"""


def test_a_crash_between_write_and_rename_keeps_the_old_record(folder: Path) -> None:
    store = FileStore(folder)
    store.add_task(make_task("keep", 10, args=["old"]))
    before = store.path_for("keep").read_bytes()
    done = subprocess.run([sys.executable, "-c", CRASH, str(folder)], cwd=ROOT, timeout=30)
    assert done.returncode == 3
    assert store.path_for("keep").read_bytes() == before
    (leftover,) = leftovers(folder)  # the half-done write is left behind ...
    assert (folder / leftover).read_bytes() != before
    fresh = FileStore(folder)
    scheduler = manual_scheduler(stores={"default": fresh})
    scheduler.start()
    assert [(t.id, t.args) for t in fresh.get_all_tasks()] == [("keep", ("old",))]
    assert fresh.get_broken_records() == {}  # ... and ignored by readers
    assert leftovers(folder) == [leftover]  # young: it may be a write in progress
    scheduler.shutdown()
    old = time.time() - 120
    os.utime(folder / leftover, (old, old))
    FileStore(folder).start(manual_scheduler(), "default")
    assert leftovers(folder) == []  # stale ones are cleaned at start


def test_a_failed_rename_leaves_the_record_and_no_temp_file(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FileStore(folder)
    store.add_task(make_task("keep", 10, args=["old"]))

    def failing_replace(*args: Any, **kwargs: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        store.update_task(make_task("keep", 20, args=["new"]))
    monkeypatch.undo()
    assert store.lookup_task("keep").args == ("old",)  # type: ignore[union-attr]
    assert leftovers(folder) == []


def test_unencodable_task_writes_nothing(folder: Path) -> None:
    store = FileStore(folder)
    with pytest.raises(TypeError, match="args"):
        store.add_task(make_task("lock", 1, args=[threading.Lock()]))
    with pytest.raises(TaskConfigurationError, match="too long"):
        store.add_task(make_task("x" * 300, 1))
    assert not folder.exists()


# -- file names -----------------------------------------------------------------------------

ODD_IDS = [
    "a:b/c.d", ".", "..", "Report", "report", "%41", "with space", "-dash", "back\\slash",
    "日本語のタスク", "emoji 🎉", "tab\tnew\nline", "nul\x00byte", "myapp.jobs:Cleanup.run",
]  # fmt: skip


def test_ids_with_unsafe_characters_round_trip(folder: Path) -> None:
    store = FileStore(folder)
    for index, task_id in enumerate(ODD_IDS):
        store.add_task(make_task(task_id, index))
    names = [name for name in os.listdir(folder) if name.endswith(".task")]
    assert len(names) == len(ODD_IDS)
    assert len({name.lower() for name in names}) == len(names)  # safe on case-insensitive disks
    assert all(not name.startswith(".") and "/" not in name for name in names)
    fresh = FileStore(folder)
    assert [task.id for task in fresh.get_all_tasks()] == ODD_IDS
    for task_id in ODD_IDS:
        assert fresh.lookup_task(task_id).id == task_id  # type: ignore[union-attr]
    with pytest.raises(ConflictIdError):
        fresh.add_task(make_task("Report", 1))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(min_size=1, max_size=16))  # 16 four-byte characters still fit
def test_file_names_are_reversible(task_id: str) -> None:
    name = encode_name(task_id)
    assert decode_name(name) == task_id
    assert decode_name(name.lower()) in (task_id, None)  # never another task's name


def test_foreign_files_are_not_records(folder: Path) -> None:
    store = FileStore(folder)
    store.add_task(make_task("a", 1))
    for name in ("notes.txt", "%61.task", "UPPER.task", ".hidden.task"):
        (folder / name).write_text("not ours")
    assert [task.id for task in store.get_all_tasks()] == ["a"]
    assert store.get_broken_records() == {}


# -- the index ------------------------------------------------------------------------------


def test_index_sees_what_another_instance_wrote(folder: Path) -> None:
    one, two = FileStore(folder), FileStore(folder)
    assert one.get_all_tasks() == [] and one.get_next_run_time() is None
    two.add_task(make_task("b", 20))
    assert [task.id for task in one.get_all_tasks()] == ["b"]
    two.update_task(make_task("b", 5, args=[1]))
    assert [task.args for task in one.get_due_tasks(at(5))] == [(1,)]
    assert [task.id for task in one.acquire_due_tasks(at(5), 10)] == ["b"]
    two.delete_task("b")
    assert one.get_all_tasks() == [] and one.lookup_task("b") is None


def test_refresh_decodes_only_changed_files(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_index, "RACY_NS", 0)
    writer = FileStore(folder)
    for index in range(50):
        writer.add_task(make_task(f"t{index}", index))
    decoded = Counter[str]()
    real = _records.decode_task

    def counting(data: bytes, serializer: Any) -> Task:
        task = real(data, serializer)
        decoded[task.id] += 1
        return task

    monkeypatch.setattr(_records, "decode_task", counting)
    reader = FileStore(folder)
    reader.acquire_due_tasks(at(-1), 10)
    assert len(decoded) == 50
    decoded.clear()
    for _ in range(3):
        reader.acquire_due_tasks(at(-1), 10)
        reader.get_next_run_time()
    assert decoded == {}  # unchanged files are only stat'ed
    writer.update_task(make_task("t7", 100))
    assert reader.get_next_run_time() == at(0)
    reader.acquire_due_tasks(at(-1), 10)
    assert decoded == {"t7": 1}


# -- claims and leases ----------------------------------------------------------------------


def test_four_threads_claim_each_due_task_once(folder: Path) -> None:
    writer = FileStore(folder)
    for index in range(300):
        writer.add_task(make_task(f"t{index:03d}", index % 7))
    stores = [FileStore(folder) for _ in range(4)]
    claimed: list[list[str]] = [[] for _ in stores]
    barrier = threading.Barrier(len(stores))

    def claim(index: int) -> None:
        barrier.wait()
        while batch := stores[index].acquire_due_tasks(at(10), 7):
            claimed[index].extend(task.id for task in batch)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    counts = Counter(task_id for ids in claimed for task_id in ids)
    assert sorted(counts) == [f"t{index:03d}" for index in range(300)]
    assert set(counts.values()) == {1}


def test_expired_lease_is_taken_over_and_the_loser_changes_nothing(
    folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    one, two = FileStore(folder, lease_seconds=30), FileStore(folder, lease_seconds=30)
    one.add_task(make_task("l", 0))
    (first,) = one.acquire_due_tasks(at(10), 5)
    assert two.acquire_due_tasks(at(39), 5) == []
    assert two.get_next_run_time() == at(40)  # leased elsewhere: counts from the lease's end
    (taken,) = two.acquire_due_tasks(at(40), 5)
    record, lease = one.path_for("l").read_bytes(), _lease_file(folder).read_bytes()
    with caplog.at_level(logging.WARNING, "asyncz_like.stores"):
        one.release_task(first, at(60))  # too late: the lease is gone
    assert "not released" in caplog.text
    assert one.path_for("l").read_bytes() == record
    assert _lease_file(folder).read_bytes() == lease
    two.release_task(taken, at(70))
    assert not _lease_file(folder).exists()
    assert one.lookup_task("l").next_run_time == at(70)  # type: ignore[union-attr]


def test_release_without_a_lease_changes_nothing(folder: Path) -> None:
    store = FileStore(folder)
    store.add_task(make_task("l", 0))
    (task,) = store.acquire_due_tasks(at(10), 5)
    _lease_file(folder).unlink()  # removed by hand, or by a takeover and release elsewhere
    record = store.path_for("l").read_bytes()
    store.release_task(task, None)
    assert store.path_for("l").read_bytes() == record


def test_a_lease_left_empty_by_a_crash_is_taken_over_after_lease_seconds(folder: Path) -> None:
    store = FileStore(folder, lease_seconds=30)
    store.add_task(make_task("l", 0))
    _lease_file(folder).write_bytes(b"")  # created, then the claimer died before writing it
    assert store.acquire_due_tasks(at(10), 5) == []
    assert store.acquire_due_tasks(at(12), 5) == []  # young: its writer may be writing it
    old = time.time() - 31
    os.utime(_lease_file(folder), (old, old))
    assert [task.id for task in store.acquire_due_tasks(at(14), 5)] == ["l"]


def test_a_claim_rereads_the_record(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one, two = FileStore(folder), FileStore(folder)
    one.add_task(make_task("l", 0))
    monkeypatch.setattr(one._records, "refresh", lambda: None)  # one's index says: due at 0
    (task,) = two.acquire_due_tasks(at(10), 5)
    two.release_task(task, at(60))  # moved on by another instance in the meantime
    assert one.acquire_due_tasks(at(10), 5) == []
    assert not _lease_file(folder).exists()  # the claim was dropped at once


def test_changes_made_while_claimed_are_kept(folder: Path) -> None:
    store, user = FileStore(folder), FileStore(folder)
    store.add_task(make_task("u", 0, args=[1]))
    store.add_task(make_task("p", 0))
    claimed = {task.id: task for task in store.acquire_due_tasks(at(10), 5)}
    user.update_task(make_task("u", 0, args=[2]))  # new args, same schedule
    user.update_task(make_task("p", None))  # paused while it ran
    assert _lease_file(folder, "u").exists()  # update_task leaves the lease alone
    assert user.acquire_due_tasks(at(10), 5) == []
    store.release_task(claimed["u"], at(60))
    store.release_task(claimed["p"], at(60))
    fresh = FileStore(folder)
    assert (fresh.lookup_task("u").args, fresh.lookup_task("u").next_run_time) == ((2,), at(60))  # type: ignore[union-attr]
    assert fresh.lookup_task("p").next_run_time is None  # type: ignore[union-attr]


def test_release_of_a_deleted_task_raises_lookup_error(folder: Path) -> None:
    store = FileStore(folder)
    store.add_task(make_task("d", 0))
    (task,) = store.acquire_due_tasks(at(10), 5)
    FileStore(folder).delete_task("d")
    with pytest.raises(TaskLookupError):
        store.release_task(task, at(60))


def _lease_file(folder: Path, task_id: str = "l") -> Path:
    return folder / ".leases" / f"{encode_name(task_id)}.task.lease"


# -- broken records -------------------------------------------------------------------------


def test_broken_record_is_reported_once_per_version_and_never_touched(folder: Path) -> None:
    events = Recorder()
    clock = FakeClock()
    store = FileStore(folder)
    scheduler = manual_scheduler(clock, stores={"default": store})
    scheduler.add_listener(events.listener, STORE_RECORD_BROKEN)
    scheduler.start()
    scheduler.add_task(noop, "interval", seconds=10, id="bad")
    store.path_for("bad").write_bytes(b"J1{not json")
    for _ in range(3):
        clock.advance(10)
        scheduler.process_tasks()
        store.get_all_tasks()
    assert [event.task_id for event in events.events] == ["bad"]
    store.path_for("bad").write_bytes(b"J1{still not json}")  # a new version: reported again
    scheduler.process_tasks()
    assert len(events.events) == 2
    with pytest.raises(BrokenRecordError, match="delete_task"):
        store.update_task(make_task("bad", 1))
    store.remove_all_tasks()
    assert store.path_for("bad").read_bytes() == b"J1{still not json}"
    assert list(store.get_broken_records()) == ["bad"]
    scheduler.shutdown()


def test_a_record_of_another_id_is_broken(folder: Path) -> None:
    store = FileStore(folder)
    folder.mkdir()
    data = encode_task(make_task("other", 1), get_serializer())
    (folder / "mine.task").write_bytes(data)  # copied by hand under another name
    assert store.lookup_task("mine") is None
    assert "its id is 'other', not 'mine'" in store.get_broken_records()["mine"]


# -- cleanup_directory ----------------------------------------------------------------------


def test_cleanup_directory_removes_the_directory(folder: Path) -> None:
    scheduler = manual_scheduler(
        stores={"default": {"type": "file", "directory": str(folder), "cleanup_directory": True}}
    )
    scheduler.start()
    scheduler.add_task(noop, "interval", seconds=10, id="a")
    store = scheduler.lookup_store("default")
    (task,) = store.acquire_due_tasks(at(20), 1)
    assert task.id == "a" and folder.is_dir()
    scheduler.shutdown()
    assert not folder.exists()


def test_cleanup_directory_keeps_other_files_and_broken_records(folder: Path) -> None:
    store = FileStore(folder, cleanup_directory=True)
    store.add_task(make_task("a", 1))
    store.add_task(make_task("bad", 2))
    store.path_for("bad").write_bytes(b"\x00garbage")
    (folder / "notes.txt").write_text("mine")
    store.shutdown()
    assert sorted(os.listdir(folder)) == ["bad.task", "notes.txt"]


# -- several processes ----------------------------------------------------------------------

WORKER = """
import json, sys, time
from asyncz_like.events import TASK_EXECUTED
from asyncz_like.schedulers import BackgroundScheduler

directory, lock_path, out, seconds = sys.argv[1:5]
scheduler = BackgroundScheduler(
    timezone="UTC", lock_path=lock_path,
    stores={"default": {"type": "file", "directory": directory, "poll_interval": 0.05}},
    executors={"default": {"type": "threadpool", "max_workers": 4}},
)
fires = []
scheduler.add_listener(
    lambda e: fires.append([e.task_id, e.scheduled_run_time.timestamp()]), TASK_EXECUTED
)
scheduler.start()
time.sleep(float(seconds))
scheduler.shutdown()
with open(out, "w") as handle:
    json.dump(fires, handle)
"""


@pytest.mark.e2e
def test_two_processes_with_lock_path_share_a_directory(tmp_path: Path, folder: Path) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    store = FileStore(folder)
    for index in range(5):
        trigger = IntervalTrigger(seconds=0.25, start_at=start)
        task = Task("tests.stores.test_file:noop", trigger, id=f"t{index}", next_run_time=start)
        task.coalesce, task.max_instances, task.mistrigger_grace_time = False, 5, None
        task.executor, task.store_alias = "default", "default"
        store.add_task(task)
    lock = str(tmp_path / "asyncz_{pgrp}_{store}.lock")
    outs = [tmp_path / f"out{index}.json" for index in range(2)]
    seconds = str((start - datetime.now(UTC)).total_seconds() + 1.6)
    args = [sys.executable, "-c", WORKER, str(folder), lock]
    procs = [subprocess.Popen([*args, str(out), seconds], cwd=ROOT) for out in outs]
    for proc in procs:
        assert proc.wait(timeout=30) == 0
    fires = [tuple(fire) for out in outs for fire in json.loads(out.read_text())]
    counts = Counter((task_id, round(when - start.timestamp(), 2)) for task_id, when in fires)
    expected = {(f"t{i}", k * 0.25) for i in range(5) for k in range(5)}  # the first 1.0 s
    assert expected <= set(counts)
    assert set(counts.values()) == {1}, [key for key, n in counts.items() if n > 1]
