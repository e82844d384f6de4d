from __future__ import annotations

import functools
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.exceptions import BrokenRecordError, SerializationError, TaskConfigurationError
from asyncz_like.serializers import (
    BaseSerializer,
    decode_task,
    encode_task,
    get_serializer,
    peek_task_id,
)
from asyncz_like.tasks import Task
from asyncz_like.triggers import (
    AndTrigger,
    BaseTrigger,
    CronTrigger,
    DateTrigger,
    IntervalTrigger,
    OrTrigger,
    ShutdownTrigger,
)
from tests.unit.serializers.helpers import assert_same

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 3, 28, 12, tzinfo=BERLIN)  # the day before the spring DST change
SERIALIZERS = {
    "json": get_serializer("json"),
    "pickle": get_serializer("pickle"),
    "signed json": get_serializer("json", secret_key="k"),
    "signed pickle": get_serializer("pickle", secret_key="k"),
}


def job(*args: Any, **kwargs: Any) -> None:
    """A module-level function: importable by reference."""


class Jobs:
    @staticmethod
    def static(*args: Any) -> None: ...

    @classmethod
    def klass(cls, *args: Any) -> None: ...

    def method(self) -> None: ...


TRIGGERS: dict[str, Callable[[], BaseTrigger]] = {
    "interval": lambda: IntervalTrigger(hours=1, start_at=START, timezone="Europe/Berlin"),
    "interval no start": lambda: IntervalTrigger(minutes=90, jitter=None),
    "cron": lambda: CronTrigger(
        hour="1-3", minute=30, timezone=BERLIN, end_at=START + timedelta(days=9)
    ),
    "date": lambda: DateTrigger(run_at=START + timedelta(days=1)),
    "and": lambda: AndTrigger(
        [IntervalTrigger(minutes=30, start_at=START), CronTrigger(minute="*/45")]
    ),
    "or": lambda: OrTrigger([CronTrigger(hour=2, timezone=BERLIN), DateTrigger(run_at=START)]),
    "shutdown": ShutdownTrigger,
}


def fire_times(trigger: BaseTrigger, previous: datetime | None, count: int) -> list[datetime]:
    times: list[datetime] = []
    now = START
    for _ in range(count):
        previous = trigger.get_next_trigger_time(UTC, previous, now)
        if previous is None:
            break
        times.append(previous)
    return times


def make_task(trigger: BaseTrigger | None = None, **options: Any) -> Task:
    options.setdefault("args", (1, (2, 3), {4}))
    options.setdefault("kwargs", {"when": START, "data": {"__az__": b"raw"}, "m": {5: None}})
    return Task(job, trigger or IntervalTrigger(seconds=10), id="t1", name="nightly", **options)


@pytest.fixture(params=list(SERIALIZERS.values()), ids=list(SERIALIZERS))
def serializer(request: pytest.FixtureRequest) -> BaseSerializer:
    return request.param  # type: ignore[no-any-return]


@pytest.mark.parametrize("build", TRIGGERS.values(), ids=TRIGGERS.keys())
def test_task_round_trips_with_each_trigger(
    build: Callable[[], BaseTrigger], serializer: BaseSerializer
) -> None:
    trigger = build()
    task = make_task(trigger, next_run_time=START, coalesce=True, max_instances=3, executor="pool")
    earlier = fire_times(trigger, None, 3)  # decode mid-iteration
    previous = earlier[-1] if earlier else None

    decoded = decode_task(encode_task(task, serializer), serializer)

    assert decoded.trigger == trigger and decoded.trigger is not trigger
    assert_same(replace(task.snapshot(), fn_reference=decoded.fn_reference), decoded.snapshot())
    assert decoded.fn_reference == f"{__name__}:job"
    assert decoded.fn is job and decoded.scheduler is None
    assert fire_times(decoded.trigger, None, 6) == fire_times(trigger, None, 6)
    assert fire_times(decoded.trigger, previous, 6) == fire_times(trigger, previous, 6)
    assert earlier or isinstance(trigger, ShutdownTrigger)
    assert decoded.get_run_times(UTC, START + timedelta(days=2)) == task.get_run_times(
        UTC, START + timedelta(days=2)
    )


@pytest.mark.parametrize(
    "fn", [job, Jobs.static, Jobs.klass, "tests.unit.serializers.test_task_records:job"]
)
def test_importable_functions_are_stored_by_reference(fn: Any, serializer: BaseSerializer) -> None:
    task = Task(fn, IntervalTrigger(seconds=1), id="t1")
    decoded = decode_task(encode_task(task, serializer), serializer)
    assert decoded.fn == task.fn
    assert decoded.fn_reference is not None and decoded.fn_reference.startswith("tests.unit.")


def _closure() -> Callable[[], None]:
    def inner() -> None: ...

    return inner


class CallMe:
    def __call__(self) -> None: ...


@pytest.mark.parametrize(
    "fn",
    [lambda: None, _closure(), Jobs().method, functools.partial(job, 1), CallMe()],
    ids=["lambda", "closure", "bound method", "partial", "callable instance"],
)
def test_non_importable_functions_are_refused(fn: Any) -> None:
    task = Task(fn, IntervalTrigger(seconds=1), id="t1", args=(), kwargs={})
    before = task.snapshot()
    with pytest.raises(TaskConfigurationError) as info:
        encode_task(task, get_serializer())
    message = str(info.value)
    assert "Task 't1'" in message and "module:qualname" in message
    assert "module-level function" in message and "memory store accepts any callable" in message
    assert task.snapshot() == before and task.fn is fn and task.fn_reference is None


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"kwargs": {"lock": threading.Lock()}}, "kwargs['lock']"),
        ({"args": (1, [threading.Lock()])}, "args[1][0]"),
    ],
)
def test_unencodable_arguments_name_their_path(options: dict[str, Any], path: str) -> None:
    task = make_task(**options)
    before = task.snapshot()
    with pytest.raises(SerializationError) as info:
        encode_task(task, get_serializer())
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: cannot encode object of type _thread.lock")
    assert task.snapshot() == before and task.fn_reference is None


def test_a_trigger_that_cannot_be_stored_is_named() -> None:
    class LocalTrigger(IntervalTrigger):
        pass

    task = make_task(LocalTrigger(seconds=5))
    with pytest.raises(SerializationError, match=r"^trigger: the trigger class .*LocalTrigger"):
        encode_task(task, get_serializer())


@pytest.fixture
def volatile_module(monkeypatch: pytest.MonkeyPatch) -> Iterator[types.ModuleType]:
    module = types.ModuleType("az_volatile_jobs")
    exec("def report(): pass", module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    yield module


def test_a_renamed_function_makes_a_broken_record_with_the_task_id(
    volatile_module: types.ModuleType, serializer: BaseSerializer
) -> None:
    data = encode_task(Task(volatile_module.report, id="renamed"), serializer)
    del volatile_module.report
    with pytest.raises(BrokenRecordError) as info:
        decode_task(data, serializer)
    assert info.value.task_id == "renamed"
    assert "'az_volatile_jobs:report' cannot be imported" in str(info.value)
    assert str(info.value).startswith("Task record 'renamed' cannot be decoded")


def test_a_reference_to_something_not_callable_is_broken(serializer: BaseSerializer) -> None:
    state = make_task().__getstate__() | {"fn_reference": "os:sep", "fn": None}
    with pytest.raises(BrokenRecordError, match="'os:sep' does not name a callable"):
        decode_task(serializer.dumps(state), serializer)


def test_unknown_state_version_is_broken(serializer: BaseSerializer) -> None:
    state = make_task().__getstate__() | {"version": 2, "fn_reference": "x:y", "fn": None}
    with pytest.raises(BrokenRecordError, match="version 2") as info:
        decode_task(serializer.dumps(state), serializer)
    assert info.value.task_id == "t1"


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ({"id": "t1"}, "fn_reference is NoneType"),
        ({"id": 5, "fn_reference": "x:y"}, "id is int"),
        (
            {
                "id": "t1",
                "fn_reference": f"{__name__}:job",
                "args": (),
                "kwargs": {},
                "trigger": "cron",
                "next_run_time": None,
            },
            "trigger is str",
        ),
        (
            {
                "id": "t1",
                "fn_reference": f"{__name__}:job",
                "args": (),
                "kwargs": {},
                "trigger": None,
                "next_run_time": datetime(2026, 1, 1),
            },
            "no time zone",
        ),
    ],
)
def test_states_that_are_not_tasks_are_broken(state: dict[str, Any], reason: str) -> None:
    serializer = get_serializer()
    with pytest.raises(BrokenRecordError, match=reason):
        decode_task(serializer.dumps(state), serializer)


def test_undecodable_json_keeps_the_task_id_when_readable() -> None:
    serializer = get_serializer()
    data = encode_task(make_task(), serializer)
    broken = data.replace(b"asyncz_like.triggers.interval:IntervalTrigger", b"gone:Trigger")
    with pytest.raises(BrokenRecordError, match="gone") as info:
        decode_task(broken, serializer)
    assert info.value.task_id == "t1" and peek_task_id(broken) == "t1"
    with pytest.raises(BrokenRecordError) as info:
        decode_task(b"J1{", serializer)
    assert info.value.task_id is None


@pytest.mark.parametrize(("inner", "task_id"), [("json", "t1"), ("pickle", None)])
def test_tampered_signed_records_are_refused(inner: str, task_id: str | None) -> None:
    serializer = get_serializer(inner, secret_key="k")
    data = encode_task(make_task(), serializer)
    tampered = data.replace(b"nightly", b"Nightly")
    assert tampered != data
    with pytest.raises(BrokenRecordError, match="bad signature") as info:
        decode_task(tampered, serializer)
    assert info.value.task_id == task_id  # a pickle is never loaded to find it


def test_a_record_signed_with_another_key_is_refused() -> None:
    data = encode_task(make_task(), get_serializer(secret_key="one"))
    with pytest.raises(BrokenRecordError, match="bad signature") as info:
        decode_task(data, get_serializer(secret_key="two"))
    assert info.value.task_id == "t1"


def test_a_custom_serializers_own_errors_become_broken_records() -> None:
    class Failing(BaseSerializer):
        def dumps(self, state: dict[str, Any]) -> bytes:
            return b"x"

        def loads(self, data: bytes) -> dict[str, Any]:
            raise KeyError("boom")

    with pytest.raises(BrokenRecordError, match="boom"):
        decode_task(b"x", Failing())


#: A JSON record as this version writes it: stored records must keep reading the same, and
#: a faster encoder must keep writing the same.
GOLDEN_RECORD = (
    b'J1{"args":{"__az__":["tuple",[1,"\xc3\xa9",{"__az__":["tuple",[2.5,null]]},'
    b'{"__az__":["map",[[4,"int key"]]]},{"__az__":["datetime",'
    b'["2026-10-25T02:30:00+01:00","Europe/Berlin",1]]}]]},"coalesce":null,"executor":null,'
    b'"fn":null,"fn_reference":"tests.unit.serializers.test_task_records:job","id":"golden",'
    b'"max_instances":null,"mistrigger_grace_time":null,"name":"job","next_run_time":'
    b'{"__az__":["datetime",["2026-03-29T00:35:00+00:00",0]]},"store_alias":null,"trigger":'
    b'{"__az__":["trigger",{"class":"asyncz_like.triggers.interval:IntervalTrigger","state":'
    b'{"version":1,"interval":{"__az__":["timedelta",[0,300,0]]},"start_at":{"__az__":'
    b'["datetime",["2026-03-29T00:30:00+00:00",0]]},"end_at":null,"timezone":null,'
    b'"jitter":2}}]},"kwargs":{"when":{"__az__":["datetime",["2026-01-01T00:00:00-03:00",'
    b'-10800]]},"d":{"__az__":["decimal","1.5"]},"s":{"__az__":["set",[3]]}},"version":1}'
)


def test_a_json_record_is_written_and_read_as_this_version_does() -> None:
    from datetime import timezone
    from decimal import Decimal

    task = Task(
        job,
        IntervalTrigger(minutes=5, start_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC), jitter=2),
        id="golden",
        args=(
            1,
            "é",
            (2.5, None),
            {4: "int key"},
            datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),
        ),
        kwargs={
            "when": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-3))),
            "d": Decimal("1.5"),
            "s": {3},
        },
    )
    task.next_run_time = datetime(2026, 3, 29, 0, 35, tzinfo=UTC)
    assert encode_task(task, SERIALIZERS["json"]) == GOLDEN_RECORD
    read = decode_task(GOLDEN_RECORD, SERIALIZERS["json"])
    assert read.fn is job and read.fn_reference == "tests.unit.serializers.test_task_records:job"
    expected, actual = task.__getstate__(), read.__getstate__()
    for state in (expected, actual):
        del state["fn"], state["fn_reference"]
    assert_same(expected, actual)
