"""@scheduler.background: a function gets .submit() and .delay() with default options."""

from __future__ import annotations

import pytest

from asyncz_like.runs import RunStatus, TaskPriority
from tests.helpers import FakeClock, manual_scheduler
from tests.unit.runs.helpers import HeldExecutor


def test_decorated_function_submits_with_its_defaults(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock)
    scheduler.start()

    @scheduler.background(priority=TaskPriority.HIGH, max_retries=2, timeout=30, name="emails")
    def send(to: str, subject: str = "hi") -> str:
        return f"{to}: {subject}"

    assert send("ann") == "ann: hi"  # still a plain function
    run = send.submit("bob", subject="welcome")
    other = send.delay("cy", priority=TaskPriority.LOW, delay=5)  # the call's options win
    assert (run.priority, run.name, other.priority) == (10, "emails", -10)
    assert scheduler._runs._submitted[run.id].options.max_retries == 2
    scheduler.process_tasks()
    assert run.result == "bob: welcome" and other.status is RunStatus.PENDING
    clock.advance(5)
    scheduler.process_tasks()
    assert other.result == "cy: hi"


def test_bare_decorator(clock: FakeClock) -> None:
    executor = HeldExecutor()
    scheduler = manual_scheduler(clock, executors={"default": executor})

    @scheduler.background
    def job() -> int:
        return 1

    assert job.submit().status is RunStatus.PENDING


@pytest.mark.parametrize(
    ("options", "error", "text"),
    [
        ({"priority": "high"}, TypeError, "priority"),
        ({"max_retries": -1}, ValueError, "max_retries"),
        ({"delay": 5}, TypeError, "unexpected option"),
        ({"retries": 5}, TypeError, "unexpected option"),
    ],
)
def test_bad_options_fail_at_decoration(
    options: dict[str, object], error: type[Exception], text: str
) -> None:
    scheduler = manual_scheduler()
    with pytest.raises(error, match=text):
        scheduler.background(**options)
