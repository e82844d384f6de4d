"""retry_run: a new run from an ended run's stored call, on the memory and a SQLite broker
(no worker: the tests end the runs through the broker, on the fake clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.retrying import RETRY_OF
from asyncz_like.exceptions import RunLookupError, RunNotRetryableError
from asyncz_like.runs import RunError, RunStatus
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler

ERROR = RunError("ValueError", "boom")


def send(to: str, subject: str = "") -> str:
    return to + ": " + subject


@pytest.fixture(params=["memory", "sqlite"])
def scheduler(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> Iterator[ManualScheduler]:
    broker = {"type": "memory"} if request.param == "memory" else f"sqlite:///{tmp_path}/b.db"
    started = manual_scheduler(clock, broker=broker, worker=False)
    started.start()
    yield started
    started.shutdown()


def broker_of(scheduler: ManualScheduler) -> BaseBroker:
    assert scheduler.broker is not None
    return scheduler.broker


def end(scheduler: ManualScheduler, run_id: str, status: RunStatus, clock: FakeClock) -> None:
    """Claim the run (the only one waiting) and end it with ``status``."""
    broker = broker_of(scheduler)
    (delivery,) = broker.claim("w", ["default", "mail"], 1, clock.now())
    assert delivery.run_id == run_id
    if status is RunStatus.COMPLETED:
        broker.complete(run_id, delivery.token, "sent", clock.now())
    else:
        broker.fail(run_id, delivery.token, ERROR, clock.now(), status)


@pytest.mark.parametrize("status", [RunStatus.FAILED, RunStatus.TIMEOUT])
def test_a_retry_is_a_new_run_with_the_same_call(
    scheduler: ManualScheduler, clock: FakeClock, status: RunStatus
) -> None:
    sent = scheduler.submit(send, "ops", subject="hi", queue="mail", priority=7, max_retries=2,
                            timeout=30, max_deliveries=4, headers={"key": "k1"})  # fmt: skip
    end(scheduler, sent.id, status, clock)
    clock.advance(60)
    again = scheduler.retry_run(sent.id)
    assert again.id != sent.id and again.status is RunStatus.PENDING
    assert (again.queue, again.priority, again.name) == ("mail", 7, "send")
    assert again.created_at == again.scheduled_at == clock.now()  # due at once
    call = broker_of(scheduler).get_envelope(again.id)
    assert call is not None
    assert (call.target, call.args) == (f"{__name__}:send", ("ops",))
    assert call.kwargs == {"subject": "hi"}
    assert (call.max_retries, call.timeout, call.max_deliveries) == (2, 30.0, 4)
    assert call.headers == {"key": "k1", RETRY_OF: sent.id}
    original = scheduler.get_run(sent.id)
    assert original is not None and original.status is status  # left as it was
    assert original.error is not None and original.error.message == "boom"
    stored = scheduler.get_run(again.id)
    assert stored is not None and stored.status is RunStatus.PENDING


def test_a_cancelled_or_dead_run_may_be_retried(
    scheduler: ManualScheduler, clock: FakeClock
) -> None:
    waiting = scheduler.submit(send, "a", delay=60)
    assert scheduler.cancel_run(waiting.id)
    assert scheduler.retry_run(waiting.id).status is RunStatus.PENDING
    broker = broker_of(scheduler)
    broker.claim("w", ["default"], 1, clock.now())  # the retry of the cancelled one
    dead = scheduler.submit(send, "b", max_deliveries=1)
    assert len(broker.claim("w", ["default"], 1, clock.now(), lease_seconds=1)) == 1
    clock.advance(5)
    broker.claim("w", ["default"], 1, clock.now())  # its worker is gone: the run ends
    lost = scheduler.get_run(dead.id)
    assert lost is not None and lost.status is RunStatus.FAILED  # "dead": lost max_deliveries
    assert scheduler.retry_run(dead.id).name == "send"


def test_what_cannot_be_retried_says_why(scheduler: ManualScheduler, clock: FakeClock) -> None:
    with pytest.raises(RunLookupError):
        scheduler.retry_run("no-such-run")
    sent = scheduler.submit(send, "ops")
    with pytest.raises(RunNotRetryableError, match="cannot retry a run that is pending"):
        scheduler.retry_run(sent.id)
    broker = broker_of(scheduler)
    (delivery,) = broker.claim("w", ["default"], 1, clock.now())
    with pytest.raises(RunNotRetryableError, match="cannot retry a run that is running"):
        scheduler.retry_run(sent.id)
    broker.complete(sent.id, delivery.token, "sent", clock.now())
    with pytest.raises(RunNotRetryableError, match="cannot retry a run that completed"):
        scheduler.retry_run(sent.id)
    gone = scheduler.submit("tests.unit.no_such_module:send")  # a reference is not imported
    end(scheduler, gone.id, RunStatus.FAILED, clock)
    with pytest.raises(RunNotRetryableError, match="cannot be imported here") as raised:
        scheduler.retry_run(gone.id)
    assert raised.value.run_id == gone.id
    assert len(scheduler.list_runs()) == 2  # nothing was enqueued by the refusals


def test_without_a_broker_a_run_keeps_no_call_to_retry(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()
    failed = scheduler.submit(send, 42)  # 42 + ": " raises TypeError: it fails
    scheduler.process_tasks()
    assert scheduler.get_run(failed.id).status is RunStatus.FAILED  # type: ignore[union-attr]
    with pytest.raises(RunNotRetryableError, match="needs a broker"):
        scheduler.retry_run(failed.id)
    waiting = scheduler.submit(send, "a", delay=timedelta(minutes=1))
    with pytest.raises(RunNotRetryableError, match="that is pending"):
        scheduler.retry_run(waiting.id)
    with pytest.raises(RunLookupError):
        scheduler.retry_run("no-such-run")
    scheduler.shutdown()
