"""WorkerThreads: the thread executor's pool (a queue, fixed threads, a callback per run)."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from asyncz_like.executors.workers import CANCELLED, Outcome, WorkerThreads


class Outcomes:
    """Collects what ``done`` is given, and says when ``expected`` have come."""

    def __init__(self, expected: int) -> None:
        self.items: list[Outcome] = []
        self.expected = expected
        self.all_in = threading.Event()
        self._lock = threading.Lock()

    def done(self, outcome: Outcome) -> None:
        with self._lock:
            self.items.append(outcome)
            if len(self.items) >= self.expected:
                self.all_in.set()


def fail(message: str) -> None:
    raise ValueError(message)


def test_each_call_reports_its_result_or_its_error() -> None:
    started: list[int] = []
    workers = WorkerThreads(3, "t", initializer=lambda: started.append(threading.get_ident()))
    outcomes = Outcomes(101)
    for value in range(100):
        workers.submit(pow, (value, 2), outcomes.done)
    workers.submit(fail, ("no",), outcomes.done)
    assert outcomes.all_in.wait(5)
    workers.shutdown(wait=True)
    results = sorted(value for ok, value in outcomes.items if ok)
    errors = [value for ok, value in outcomes.items if not ok]
    assert results == [value**2 for value in range(100)]
    assert len(errors) == 1 and isinstance(errors[0], ValueError) and str(errors[0]) == "no"
    assert len(set(started)) == 3  # the initializer ran once in each thread


def test_shutdown_with_wait_finishes_what_is_queued() -> None:
    gate = threading.Event()
    workers = WorkerThreads(1, "t")
    outcomes = Outcomes(5)
    workers.submit(gate.wait, (5,), outcomes.done)
    for value in range(4):
        workers.submit(abs, (value,), outcomes.done)
    gate.set()
    workers.shutdown(wait=True)
    assert len(outcomes.items) == 5 and all(ok for ok, _ in outcomes.items)
    with pytest.raises(RuntimeError, match="after shutdown"):
        workers.submit(abs, (1,), outcomes.done)


def test_shutdown_with_cancel_drops_what_has_not_started() -> None:
    gate, running = threading.Event(), threading.Event()

    def hold() -> str:
        running.set()
        gate.wait(5)
        return "held"

    workers = WorkerThreads(1, "t")
    outcomes = Outcomes(4)
    workers.submit(hold, (), outcomes.done)
    assert running.wait(5)
    for value in range(3):
        workers.submit(abs, (value,), outcomes.done)
    cancelled: list[Any] = []

    def cancel(done: Any) -> None:
        cancelled.append(done)
        done((False, CANCELLED))

    workers.shutdown(wait=False, cancel=cancel)
    gate.set()
    assert outcomes.all_in.wait(5)
    assert len(cancelled) == 3
    assert sorted(map(repr, outcomes.items)) == sorted(
        [repr((True, "held"))] + [repr((False, CANCELLED))] * 3
    )


def test_a_report_that_fails_does_not_stop_the_worker(caplog: pytest.LogCaptureFixture) -> None:
    workers = WorkerThreads(1, "t")
    outcomes = Outcomes(1)

    def broken_report(outcome: Outcome) -> None:
        raise RuntimeError("report failed")

    workers.submit(abs, (1,), broken_report)
    workers.submit(abs, (-2,), outcomes.done)
    assert outcomes.all_in.wait(5) and outcomes.items == [(True, 2)]
    workers.shutdown(wait=True)
    assert "Error reporting the end of a run" in caplog.text


def test_a_worker_can_shut_its_own_pool_down() -> None:
    workers = WorkerThreads(2, "t")
    outcomes = Outcomes(1)
    workers.submit(workers.shutdown, (True,), outcomes.done)  # joins the others, not itself
    assert outcomes.all_in.wait(5) and outcomes.items == [(True, None)]


def test_the_thread_executor_frees_the_instances_of_runs_dropped_at_shutdown() -> None:
    from asyncz_like.executors import ThreadPoolExecutor
    from asyncz_like.tasks import Task
    from tests.helpers import START, FakeClock, manual_scheduler

    gate, running = threading.Event(), threading.Event()

    def hold() -> None:
        running.set()
        gate.wait(5)

    executor = ThreadPoolExecutor(max_workers=1)
    scheduler = manual_scheduler(FakeClock(), executors={"default": executor})
    scheduler.start()
    first = Task(hold, id="first", max_instances=1)
    queued = [Task(abs, args=(1,), id=f"q{i}", max_instances=1) for i in range(3)]
    executor.send_task(first, [START])
    assert running.wait(5)
    for task in queued:
        executor.send_task(task, [START])
    assert set(executor.instances) == {"first", "q0", "q1", "q2"}
    executor.shutdown(wait=False)
    assert set(executor.instances) == {"first"}  # the queued ones never started: freed
    gate.set()
    for _ in range(100):
        if not executor.instances:
            break
        threading.Event().wait(0.01)  # the running one ends on its worker
    assert executor.instances == {}
    scheduler.shutdown(wait=False)


def test_ends_from_many_threads_are_all_counted_without_a_lock() -> None:
    from asyncz_like.exceptions import MaximumInstancesError
    from asyncz_like.executors.base import BaseExecutor
    from asyncz_like.tasks import Task
    from tests.helpers import START

    class Holding(BaseExecutor):
        def do_send_task(self, task: Task, run_times: list[Any]) -> None:
            pass

    executor = Holding()
    many = Task(abs, args=(1,), id="many", max_instances=8_000)
    for _ in range(8_000):
        executor.send_task(many, [START])
    assert executor.instances == {"many": 8_000}

    def end_a_thousand() -> None:
        for _ in range(1_000):
            executor._release("many")

    threads = [threading.Thread(target=end_a_thousand) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert executor.instances == {}
    one = Task(abs, args=(1,), id="one", max_instances=1)
    executor.send_task(one, [START])
    with pytest.raises(MaximumInstancesError):
        executor.send_task(one, [START])
    executor._release("one")
    executor.send_task(one, [START])  # the end is counted before the check
    assert executor.instances == {"one": 1}
