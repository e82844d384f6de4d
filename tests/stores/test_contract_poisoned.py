"""The store contract for poisoned records: valid JSON, a field of the wrong type or value.

Such a record is quarantined as an undecodable one is (kept, reported once, skipped) and never
stops the other tasks of the store from firing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from asyncz_like.events import STORE_RECORD_BROKEN
from asyncz_like.serializers import encode_task, get_serializer
from asyncz_like.serializers._encode import TAG
from asyncz_like.tasks import Task
from tests.helpers import FakeClock, Recorder
from tests.stores.backends import Backend
from tests.stores.test_contract import CALLS, record_call, started, store_of


def _tagged(name: str, payload: Any) -> dict[str, Any]:
    return {TAG: [name, payload]}


INF = _tagged("float", "inf")
NAN = _tagged("float", "nan")
LONG_AGO = _tagged("datetime", ["2000-01-01T00:00:00+00:00", "UTC"])

#: (dotted path in the record, JSON value); a path through the trigger goes into its state.
POISONS: list[tuple[str, Any]] = [
    *[("max_instances", value) for value in ("3", [1], -1, 0, 1.5, True, 1e300)],
    *[("coalesce", value) for value in ("yes", 2, [])],
    *[("mistrigger_grace_time", value) for value in ("x", -5, 0, INF, NAN, True)],
    ("executor", 5),
    ("name", 7),
    ("name", ""),
    ("store_alias", []),
    ("id", 5),
    ("id", ""),
    ("id", "another-task"),
    ("args", "abc"),
    ("args", 5),
    ("kwargs", []),
    ("kwargs", {"unexpected": 1}),
    ("fn_reference", 5),
    ("fn_reference", "no_such_module_here:f"),
    ("fn_reference", "os:sep"),
    ("fn", "tests.stores.test_contract:record_call"),
    ("next_run_time", "tomorrow"),
    ("next_run_time", 5),
    ("version", "1"),
    ("version", 2),
    ("version", True),
    ("trigger", 5),
    ("trigger", "interval"),
    ("trigger.class", "os:path"),
    ("trigger.state", []),
    ("trigger.state.interval", "x"),
    ("trigger.state.interval", -5),
    ("trigger.state.interval", 0),
    ("trigger.state.interval", True),
    ("trigger.state.timezone", 5),
    ("trigger.state.timezone", "Mars/Olympus"),
    ("trigger.state.start_at", "soon"),
    ("trigger.state.end_at", LONG_AGO),
    ("trigger.state.jitter", "x"),
    ("trigger.state.jitter", -1),
    ("trigger.state.version", "1"),
]

#: Poisons of a cron task's trigger.
CRON_POISONS: list[tuple[str, Any]] = [
    ("trigger.state.fields", 5),
    ("trigger.state.fields", ["hour"]),
    ("trigger.state.fields.second", [1]),
    ("trigger.state.fields.second", "99"),
    ("trigger.state.fields.sometimes", "1"),
    ("trigger.state.day_or", "yes"),
    ("trigger.state.jitter", INF),
]


def poisoned(task: Task, path: str, value: Any) -> bytes:
    """The JSON record of ``task`` with the field at ``path`` set to ``value``."""
    record = encode_task(task, get_serializer("json"))
    assert record[:2] == b"J1"
    data = json.loads(record[2:])
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
        if isinstance(node, dict) and TAG in node:  # into the tagged value's payload
            node = node[TAG][1]
    node[last] = value
    return b"J1" + json.dumps(data).encode()


def _field_named(path: str) -> str:
    return path.split(".")[-1] if path != "trigger.state" else "trigger"


@pytest.mark.parametrize(
    ("trigger", "path", "value"),
    [
        pytest.param(trigger, path, value, id=f"{trigger}:{path}={json.dumps(value)}")
        for trigger, poisons in (("interval", POISONS), ("cron", CRON_POISONS))
        for path, value in poisons
    ],
)
def test_a_poisoned_record_is_quarantined_and_the_others_fire(
    backend: Backend, trigger: str, path: str, value: Any
) -> None:
    if not backend.persistent:
        pytest.skip("the memory store holds objects, not records")
    CALLS.clear()
    events = Recorder()
    clock = FakeClock()
    scheduler = started(backend, clock)
    scheduler.add_listener(events.listener, STORE_RECORD_BROKEN)
    timing = {"seconds": 10} if trigger == "interval" else {"second": "*/10"}
    for task_id in ("good1", "bad", "good2"):
        scheduler.add_task(record_call, trigger, id=task_id, args=[task_id], **timing)
    store = store_of(scheduler)
    bad = store.lookup_task("bad")
    assert bad is not None
    backend.overwrite(store, "bad", poisoned(bad, path, value))

    for _ in range(3):
        clock.advance(10)
        scheduler.process_tasks()

    assert sorted(CALLS) == [("good1",)] * 3 + [("good2",)] * 3
    broken = scheduler.get_broken_records()
    assert list(broken) == ["default"] and list(broken["default"]) == ["bad"]
    assert _field_named(path) in broken["default"]["bad"]
    assert [event.task_id for event in events.events] == ["bad"]  # once, not at every pass
    assert scheduler.get_task("bad") is None
    assert [task.id for task in scheduler.get_tasks()] == ["good1", "good2"]
    assert store.get_next_run_time() is not None
    scheduler.shutdown()

    again = started(backend, clock)  # the record was kept: a new store finds it broken
    assert [task.id for task in again.get_tasks()] == ["good1", "good2"]
    assert list(again.get_broken_records()["default"]) == ["bad"]
    again.delete_task("bad")
    assert again.get_broken_records() == {}
    again.shutdown()
