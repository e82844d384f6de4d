"""Periodic tasks that send their fires to a broker queue: each fire enqueued once, under a
run id of the task id and the scheduled time, and run by a worker."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.brokers import MemoryBroker
from asyncz_like.exceptions import ConflictIdError
from asyncz_like.runs import RunStatus
from asyncz_like.schedulers.queue_fires import QueueExecutor, fire_run_id
from tests.helpers import START, FakeClock, ManualScheduler, manual_scheduler

HERE = "tests.unit.test_queue_fires"


def report(kind: str) -> str:
    return kind


def fired(broker: Any, queue: str = "reports") -> list[str]:
    return sorted(run.id for run in broker.list_runs(queue=queue, limit=1000))


def test_each_fire_is_enqueued_once_on_the_tasks_queue() -> None:
    clock, broker = FakeClock(), MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    scheduler.start()
    task = scheduler.add_task(report, "interval", seconds=10, args=("daily",), id="beat",
                              queue="reports")  # fmt: skip
    assert task.executor == "queue:reports"
    scheduler.process_tasks()
    assert fired(broker) == []
    clock.advance(10)
    scheduler.process_tasks()
    scheduler.process_tasks()
    first = START + timedelta(seconds=10)
    assert fired(broker) == [f"beat@{first.isoformat()}"]
    clock.advance(10)
    scheduler.process_tasks()
    assert len(fired(broker)) == 2
    (delivery, _) = broker.claim("w", ["reports"], 2, clock.now())
    envelope = delivery.envelope
    assert (envelope.target, envelope.args, envelope.task_id) == (f"{HERE}:report", ("daily",),
                                                                  "beat")  # fmt: skip
    assert envelope.due == first
    scheduler.shutdown()


def test_an_enqueue_retried_or_raced_is_one_run() -> None:
    clock, broker = FakeClock(), MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    scheduler.start()
    task = scheduler.add_task(report, "interval", seconds=10, args=("x",), id="t",
                              queue="reports")  # fmt: skip
    executor = scheduler.lookup_executor("queue:reports")
    assert isinstance(executor, QueueExecutor)
    when = START + timedelta(seconds=10)
    assert executor.send_tasks([(task, [when]), (task, [when])]) == [None, None]
    executor.send_task(task, [when])
    assert fired(broker) == [fire_run_id("t", when)]
    scheduler.shutdown()


def test_the_schedulers_worker_runs_the_fires() -> None:
    clock, broker = FakeClock(), MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, queues=["reports"])
    scheduler.start()
    try:
        scheduler.add_task(report, "interval", seconds=5, args=("ok",), id="beat", queue="reports")
        clock.advance(5)
        scheduler.process_tasks()
        run_id = fire_run_id("beat", START + timedelta(seconds=5))
        run = scheduler.wait_for_sync(run_id, timeout=10)
        assert run.status is RunStatus.COMPLETED and run.result == "ok" and run.task_id == "beat"
    finally:
        scheduler.shutdown()


def test_queue_needs_a_broker_and_excludes_an_executor() -> None:
    plain = manual_scheduler(FakeClock())
    with pytest.raises(ValueError, match="queue='reports' needs a broker"):
        plain.add_task(report, "interval", seconds=5, queue="reports")
    with_broker = manual_scheduler(FakeClock(), broker=MemoryBroker(), worker=False)
    with pytest.raises(TypeError, match="queue or executor, not both"):
        with_broker.add_task(report, "interval", seconds=5, queue="q", executor="default")
    with pytest.raises(TypeError, match="queue"):
        with_broker.add_task(report, "interval", seconds=5, queue="")


def test_the_decorator_takes_a_queue() -> None:
    clock, broker = FakeClock(), MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    scheduler.task(interval=timedelta(seconds=3), queue="reports", args=("d",))(report)
    scheduler.start()
    clock.advance(3)
    scheduler.process_tasks()
    assert [run.task_id for run in broker.list_runs(queue="reports")] == [f"{HERE}:report"]
    scheduler.shutdown()


def _store(tmp_path: Path) -> dict[str, Any]:
    return {"type": "sqlalchemy", "database": f"sqlite:///{tmp_path / 'tasks.db'}"}


def _broker(tmp_path: Path) -> dict[str, Any]:
    return {"type": "sqlalchemy", "database": f"sqlite:///{tmp_path / 'runs.db'}"}


def _scheduler(clock: FakeClock, tmp_path: Path) -> ManualScheduler:
    return manual_scheduler(clock, stores={"default": _store(tmp_path)},
                            broker=_broker(tmp_path), worker=False)  # fmt: skip


def test_two_schedulers_on_one_sqlite_store_and_broker_enqueue_each_fire_once(
    tmp_path: Path,
) -> None:
    clock = FakeClock()
    first, second = _scheduler(clock, tmp_path), _scheduler(clock, tmp_path)
    for scheduler in (first, second):
        scheduler.add_task(report, "interval", seconds=10, args=("x",), id="beat",
                           queue="reports", on_conflict="keep")  # fmt: skip
        scheduler.start()
    try:
        for _ in range(3):
            clock.advance(10)
            first.process_tasks()
            second.process_tasks()
        broker = first._run_side.brokers.broker
        expected = [fire_run_id("beat", START + timedelta(seconds=10 * i)) for i in (1, 2, 3)]
        assert fired(broker) == sorted(expected)
        assert first.run_slots._held == {} and second.run_slots._held == {}  # slots given back
        # a fire handed over by both (a claim lost and retried) is still one run
        task = first.get_task("beat")
        assert task is not None
        for scheduler in (first, second):
            scheduler.lookup_executor("queue:reports").send_task(
                task, [START + timedelta(seconds=10)]
            )
        assert fired(broker) == sorted(expected)
    finally:
        first.shutdown()
        second.shutdown()


def test_the_queue_survives_a_restart_and_is_compared_on_conflict(tmp_path: Path) -> None:
    clock = FakeClock()
    scheduler = _scheduler(clock, tmp_path)
    scheduler.start()
    scheduler.add_task(report, "interval", seconds=10, args=("x",), id="beat", queue="reports")
    scheduler.shutdown()
    again = _scheduler(clock, tmp_path)
    again.start()
    try:
        task = again.get_task("beat")
        assert task is not None and task.executor == "queue:reports"
        with pytest.raises(ConflictIdError):
            again.add_task(report, "interval", seconds=10, args=("x",), id="beat", queue="other")
        again.add_task(report, "interval", seconds=10, args=("x",), id="beat", queue="other",
                       on_conflict="update")  # fmt: skip
        task = again.get_task("beat")
        assert task is not None and task.executor == "queue:other"
        clock.advance(10)
        again.process_tasks()
        broker = again._run_side.brokers.broker
        assert fired(broker, "other") == [fire_run_id("beat", START + timedelta(seconds=10))]
    finally:
        again.shutdown()


def test_a_task_tells_its_queue_and_update_task_moves_it() -> None:
    clock, broker = FakeClock(), MemoryBroker()
    scheduler = manual_scheduler(clock, broker=broker, worker=False)
    scheduler.start()
    beat = scheduler.add_task(report, "interval", seconds=10, args=("a",), id="beat",
                               queue="reports")  # fmt: skip
    here = scheduler.add_task(report, "interval", seconds=10, args=("b",), id="here")
    assert (beat.queue, here.queue) == ("reports", None)
    moved = scheduler.update_task("here", queue="urgent")
    assert (moved.queue, moved.executor) == ("urgent", "queue:urgent")
    assert scheduler.get_task("here").queue == "urgent"
    with pytest.raises(TypeError, match="queue or executor"):
        scheduler.update_task("beat", queue="other", executor="default")
    with pytest.raises(TypeError, match="queue must be a nonempty string"):
        scheduler.update_task("beat", queue="")
    assert scheduler.get_task("beat").queue == "reports"  # a refused change writes nothing
    clock.advance(10)
    scheduler.process_tasks()
    assert fired(broker, "urgent") == [fire_run_id("here", START + timedelta(seconds=10))]
    scheduler.shutdown()


def test_update_task_to_a_queue_needs_a_broker() -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    scheduler.add_task(report, "interval", seconds=10, args=("b",), id="here")
    with pytest.raises(ValueError, match="needs a broker"):
        scheduler.update_task("here", queue="reports")
    assert scheduler.get_task("here").queue is None
    scheduler.shutdown()
