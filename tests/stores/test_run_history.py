"""Runs kept in the SQL and Redis stores: finished runs survive a restart, pending work kept at
shutdown runs after the next start exactly once, the limits apply to the stored records."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.exceptions import SerializationError, TaskConfigurationError
from asyncz_like.executors import ThreadPoolExecutor
from asyncz_like.runs import MemoryRunHistory, RunStatus
from asyncz_like.workers.persistent import StoredRunHistory, UnstoredResult, run_store_for
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.stores.backends import BACKENDS, Backend

PERSISTENT = ["sqlite", "postgresql", "mariadb", "redis"]
CALLS: list[tuple[str, Any]] = []
_CALLS_LOCK = threading.Lock()


def record_call(tag: str, value: Any = None) -> Any:
    with _CALLS_LOCK:
        CALLS.append((tag, value))
    return value


def fail_with(message: str) -> None:
    raise ValueError(message)


def give_unencodable() -> object:
    return threading.Lock()


def vanishing(value: int) -> int:
    return value


@pytest.fixture(params=PERSISTENT)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = BACKENDS[request.param](tmp_path)
    CALLS.clear()
    try:
        yield made
    finally:
        stores = getattr(made, "made", [])  # SQL: drop the run table before the task table
        runs = run_store_for(stores[0]) if stores else None
        if runs is not None:
            runs.drop()
        made.cleanup()  # (Redis: deletes every key of the test's prefix)


def start(backend: Backend, clock: FakeClock, **options: Any) -> ManualScheduler:
    scheduler = manual_scheduler(clock, stores={"default": backend.make()}, **options)
    scheduler.start()
    return scheduler


def history_of(scheduler: ManualScheduler) -> StoredRunHistory:
    history = scheduler.run_history
    assert isinstance(history, StoredRunHistory)
    return history


def stored_count(scheduler: ManualScheduler) -> int:
    history = history_of(scheduler)
    return len(list(history.store.select(None, None, None, None)))


def test_finished_runs_survive_a_restart(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock)
    done = first.submit(record_call, "a", {"rows": [1, 2]}, name="report")
    clock.advance(1)
    failed = first.submit(fail_with, "boom")
    first.process_tasks()
    assert done.status is RunStatus.COMPLETED and failed.status is RunStatus.FAILED
    first.shutdown()

    second = start(backend, clock)
    again = second.get_run(done.id)
    assert again is not None and again is not done
    assert again.to_dict() == done.to_dict()
    lost = second.get_run(failed.id)
    assert lost is not None and lost.status is RunStatus.FAILED
    assert lost.error is not None and lost.error.type == "ValueError"
    assert lost.error.message == "boom" and "fail_with" in (lost.error.traceback or "")
    assert [run.id for run in second.list_runs()] == [failed.id, done.id]
    assert [run.id for run in second.list_runs(status="completed")] == [done.id]
    assert second.list_runs(limit=1)[0].id == failed.id
    assert second.get_run("no-such-run") is None
    second.shutdown()


def test_runs_of_fires_are_stored(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock)
    first.add_task(record_call, "interval", seconds=10, args=["fire", 42], id="ticker")
    clock.advance(10)
    first.process_tasks()
    first.shutdown()

    second = start(backend, clock)
    runs = second.list_runs(task_id="ticker")
    assert len(runs) == 1 and runs[0].status is RunStatus.COMPLETED
    assert runs[0].result == 42
    second.remove_task("ticker")
    second.shutdown()


def test_pending_work_is_kept_and_runs_after_the_next_start(
    backend: Backend, clock: FakeClock
) -> None:
    first = start(backend, clock)
    later = first.submit(record_call, "later", (1, 2), delay=60, priority=5, max_retries=2)
    first.shutdown(wait=True)
    assert CALLS == []

    second = start(backend, clock)
    kept = second.get_run(later.id)
    assert kept is not None and kept.status is RunStatus.PENDING and kept.priority == 5
    second.process_tasks()
    assert CALLS == []  # not due yet: it keeps its time
    clock.advance(60)
    second.process_tasks()
    assert CALLS == [("later", (1, 2))]
    assert kept.to_dict()["status"] == "completed" and kept.result == (1, 2)
    second.shutdown()

    third = start(backend, clock)
    assert CALLS == [("later", (1, 2))]
    stored = third.get_run(later.id)
    assert stored is not None and stored.status is RunStatus.COMPLETED
    third.shutdown()


def test_a_retrying_run_is_kept_with_its_attempts(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock)
    run = first.submit(fail_with, "again", max_retries=1, retry_backoff=30)
    first.process_tasks()
    assert run.status is RunStatus.RETRYING and run.attempt == 1
    first.shutdown()

    second = start(backend, clock)
    kept = second.get_run(run.id)
    assert kept is not None and kept.status is RunStatus.RETRYING and kept.attempt == 1
    clock.advance(40)
    second.process_tasks()
    assert kept.to_dict()["status"] == "failed" and kept.attempt == 2
    second.shutdown()


def test_two_schedulers_run_kept_work_exactly_once(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock)
    runs = [first.submit(record_call, "kept", n, delay=5) for n in range(20)]
    first.shutdown()

    schedulers = [manual_scheduler(clock, stores={"default": backend.make()}) for _ in range(2)]
    barrier = threading.Barrier(2)

    def start_one(scheduler: ManualScheduler) -> None:
        barrier.wait(10)
        scheduler.start()

    threads = [threading.Thread(target=start_one, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    clock.advance(5)
    for scheduler in schedulers:
        scheduler.process_tasks()
    assert sorted(value for _, value in CALLS) == list(range(20))
    for scheduler in schedulers:
        scheduler.shutdown()

    check = start(backend, clock)
    statuses = {run.id: check.get_run(run.id) for run in runs}
    assert all(r is not None and r.status is RunStatus.COMPLETED for r in statuses.values())
    check.shutdown()


def test_wait_false_records_the_cancelled_thread_run(backend: Backend, clock: FakeClock) -> None:
    release = threading.Event()
    started = threading.Event()
    sys.modules[__name__].__dict__["_hold"] = (started, release)
    first = start(backend, clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    run = first.submit(hold_until_released)
    first.process_tasks()
    assert started.wait(10)
    first.shutdown(wait=False)
    release.set()
    assert run.status is RunStatus.CANCELLED

    second = start(backend, clock)
    stored = second.get_run(run.id)
    assert stored is not None and stored.status is RunStatus.CANCELLED
    second.shutdown()


def hold_until_released() -> str:
    started, release = sys.modules[__name__].__dict__["_hold"]
    started.set()
    release.wait(10)
    return "late"


def test_wait_true_records_a_thread_run_that_ends_during_shutdown(
    backend: Backend, clock: FakeClock
) -> None:
    release = threading.Event()
    started = threading.Event()
    sys.modules[__name__].__dict__["_hold"] = (started, release)
    first = start(backend, clock, executors={"default": ThreadPoolExecutor(max_workers=1)})
    run = first.submit(hold_until_released)
    first.process_tasks()
    assert started.wait(10)
    threading.Timer(0.05, release.set).start()
    first.shutdown(wait=True)
    assert run.status is RunStatus.COMPLETED

    second = start(backend, clock)
    stored = second.get_run(run.id)
    assert stored is not None and stored.result == "late"
    second.shutdown()


def test_max_run_history_applies_to_the_store(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock, max_run_history=3)
    runs = []
    for n in range(5):
        runs.append(first.submit(record_call, "n", n))
        first.process_tasks()
        clock.advance(1)
    first.shutdown()
    second = start(backend, clock, max_run_history=3)
    assert [run.id for run in second.list_runs()] == [run.id for run in runs[:1:-1]]
    assert second.get_run(runs[0].id) is None
    assert stored_count(second) == 3
    second.shutdown()


def test_run_result_ttl_applies_to_the_store(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock, run_result_ttl=100)
    old = first.submit(record_call, "old")
    first.process_tasks()
    first.shutdown()

    second = start(backend, clock, run_result_ttl=100)
    assert second.get_run(old.id) is not None
    clock.advance(100)
    assert second.get_run(old.id) is None  # expired: no lookup returns it
    assert second.list_runs() == []
    fresh = second.submit(record_call, "fresh")
    clock.advance(61)  # past the clean-up interval: the pass cleans up, the flush trims
    second.process_tasks()
    history_of(second).flush()
    assert stored_count(second) == 1 and second.get_run(fresh.id) is not None
    second.shutdown()


def test_a_result_the_serializer_cannot_encode(backend: Backend, clock: FakeClock) -> None:
    first = start(backend, clock)
    run = first.submit(give_unencodable)
    first.process_tasks()
    assert run.status is RunStatus.COMPLETED  # the run itself does not fail
    first.shutdown()

    second = start(backend, clock)
    stored = second.get_run(run.id)
    assert stored is not None and stored.status is RunStatus.COMPLETED
    assert isinstance(stored.result, UnstoredResult) and "lock" in stored.result.reason
    second.shutdown()


def test_submit_refuses_what_cannot_be_kept(backend: Backend, clock: FakeClock) -> None:
    scheduler = start(backend, clock)
    with pytest.raises(TaskConfigurationError, match=r"fn: the function .*lambda"):
        scheduler.submit(lambda: None)

    def nested() -> None: ...

    with pytest.raises(TaskConfigurationError, match="nested"):
        scheduler.submit(nested)
    with pytest.raises(SerializationError, match="args"):
        scheduler.submit(record_call, "x", threading.Lock())

    class LocalError(Exception): ...

    with pytest.raises(TaskConfigurationError, match="retry_on"):
        scheduler.submit(record_call, "x", retry_on=LocalError)
    assert scheduler.list_runs() == []  # nothing half-added
    scheduler.shutdown()


def test_memory_history_opts_out(backend: Backend, clock: FakeClock) -> None:
    scheduler = start(backend, clock, run_history="memory")
    assert isinstance(scheduler.run_history, MemoryRunHistory)
    run = scheduler.submit(lambda: 7)
    scheduler.process_tasks()
    assert run.result == 7
    scheduler.shutdown()


def test_a_kept_run_whose_function_is_gone_fails(
    backend: Backend, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = start(backend, clock)
    run = first.submit(f"{__name__}:vanishing", 3, delay=10)
    first.shutdown()
    monkeypatch.delattr(sys.modules[__name__], "vanishing")

    second = start(backend, clock)
    failed = second.get_run(run.id)
    assert failed is not None and failed.status is RunStatus.FAILED
    assert failed.error is not None and "vanishing" in failed.error.message
    second.shutdown()


def test_a_run_written_again_is_one_row_with_its_last_values(backend: Backend) -> None:
    """The run store's write inserts a new run and updates one that exists (one statement for
    a batch on SQL), whichever of a batch is which."""
    from asyncz_like.stores.runs import RunRow

    store = backend.make()
    manual_scheduler(stores={"default": store}).start()
    runs = run_store_for(store)
    assert runs is not None
    runs.start()
    first = RunRow("r1", "t", "running", 100.0, None, b"one")
    runs.write([first])
    finished = RunRow("r1", "t", "completed", 100.0, 101.5, b"two")
    runs.write([finished, RunRow("r2", None, "pending", 102.0, None, b"three")])
    assert runs.get("r1") == b"two" and runs.get("r2") == b"three"
    assert sorted(runs.select(None, None, None, None)) == [b"three", b"two"]
    # a store may return more than matches (the history filters), never less
    assert b"two" in list(runs.select({"completed"}, "t", None, None))
    assert b"three" in list(runs.select(None, None, None, 101.6))  # not finished: alive
