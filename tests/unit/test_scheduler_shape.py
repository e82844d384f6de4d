"""The scheduler is one coordinator over collaborators (issue #18): the shape, and the
extension points asyncz code patches on the scheduler object, honoured by them."""

from __future__ import annotations

import ast
from pathlib import Path
from unittest.mock import MagicMock

import pytest

from asyncz_like.schedulers.async_task_api import AsyncTaskMethods
from asyncz_like.schedulers.asyncz_api import AsynczMethods
from asyncz_like.schedulers.context_methods import ContextMethods
from asyncz_like.schedulers.plugin_methods import PluginMethods
from asyncz_like.schedulers.run_methods import RunMethods
from asyncz_like.schedulers.task_methods import TaskMethods
from tests.helpers import FakeClock, manual_scheduler

SCHEDULERS = Path(__file__).resolve().parents[2] / "asyncz_like" / "schedulers"
FACADES = [TaskMethods, RunMethods, PluginMethods, AsynczMethods, AsyncTaskMethods, ContextMethods]


def _job() -> None:
    pass


@pytest.mark.parametrize("path", sorted(SCHEDULERS.glob("*.py")), ids=lambda path: path.name)
def test_modules_and_classes_stay_small(path: Path) -> None:
    source = path.read_text()
    assert len(source.splitlines()) <= 400
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            assert node.end_lineno is not None
            assert node.end_lineno - node.lineno + 1 <= 300, node.name


@pytest.mark.parametrize("facade", FACADES, ids=lambda facade: facade.__name__)
def test_the_facades_hold_no_state(facade: type) -> None:
    assert "__init__" not in vars(facade)
    assert "__slots__" not in vars(facade)


def test_the_collaborators_are_made_in_one_init() -> None:
    scheduler = manual_scheduler(FakeClock())
    made = {type(value).__name__ for value in vars(scheduler).values()}
    assert {"Plugins", "TaskFactory", "TaskAdder", "TaskRegistry", "RunSide"} <= made
    assert {"SchedulerLoop", "EventDispatcher", "TriggerTables", "RunSlots"} <= made


def test_a_patched_lookup_store_is_the_one_update_task_uses() -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    task = scheduler.add_task(_job, "interval", seconds=5, id="a")
    store = MagicMock()
    scheduler.lookup_store = lambda alias: store  # type: ignore[method-assign]  # as asyncz tests do
    scheduler.update_task("a", name="renamed")
    store.update_task.assert_called_once_with(task)
    scheduler.shutdown()


def test_a_patched_lookup_task_is_the_one_pause_task_uses() -> None:
    scheduler = manual_scheduler(FakeClock())
    scheduler.start()
    task = scheduler.add_task(_job, "interval", seconds=5, id="a")
    looked_up: list[str] = []

    def lookup(task_id: str, store: str | None) -> tuple[object, str | None]:
        looked_up.append(task_id)
        return task, "default"

    scheduler.lookup_task = lookup  # type: ignore[method-assign,assignment]
    scheduler.pause_task("a")
    assert looked_up == ["a"] and task.next_run_time is None
    scheduler.shutdown()
