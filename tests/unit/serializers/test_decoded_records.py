"""DecodedRecords: a record read again is a copy of the task it gave, with the run time the
store keeps beside it; broken records are never remembered."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.serializers import encode_task, get_serializer
from asyncz_like.serializers.decoded import DecodedRecords
from asyncz_like.tasks import Task
from asyncz_like.triggers import IntervalTrigger

BERLIN = ZoneInfo("Europe/Berlin")
SERIALIZER = get_serializer("json", secret_key="k")
MOMENT = datetime(2026, 11, 23, 12, 30, 15, 250_001, tzinfo=UTC)


def job(*args: object, **kwargs: object) -> None:
    """The function of the tasks here."""


def record(task_id: str = "t", **kwargs: object) -> bytes:
    task = Task(job, IntervalTrigger(seconds=5, timezone=BERLIN), id=task_id, kwargs=kwargs)
    task.next_run_time = MOMENT
    return encode_task(task, SERIALIZER, run_time=False)


def test_the_record_leaves_the_run_time_out_when_asked() -> None:
    task = Task(job, IntervalTrigger(seconds=5), id="t")
    task.next_run_time = MOMENT
    assert encode_task(task, SERIALIZER, run_time=False) != encode_task(task, SERIALIZER)
    assert task.next_run_time == MOMENT  # the task itself is not changed


def test_a_record_read_again_is_a_fresh_copy_with_the_given_run_time() -> None:
    records = DecodedRecords(SERIALIZER)
    data = record(color="red")
    first = records.decode(data, MOMENT.timestamp())
    first.kwargs["color"] = "blue"  # a caller changing its copy
    first.name = "changed"
    second = records.decode(data, None)
    assert second is not first and second.trigger is first.trigger
    assert second.kwargs == {"color": "red"} and second.name == "job"
    assert second.next_run_time is None  # paused, as the store said
    assert first.next_run_time == MOMENT  # exact to the microsecond
    assert first.next_run_time.tzinfo is BERLIN  # in the trigger's zone
    assert first.scheduler is None and second.scheduler is None
    assert len(records) == 1


def test_the_oldest_record_is_forgotten_beyond_capacity() -> None:
    records = DecodedRecords(SERIALIZER, capacity=2)
    one, two, three = record("one"), record("two"), record("three")
    for data in (one, two, three):
        records.decode(data, None)
    assert len(records) == 2
    assert records.decode(one, None).id == "one"  # decoded again, not lost
    records.clear()
    assert len(records) == 0
    with pytest.raises(ValueError, match="capacity"):
        DecodedRecords(SERIALIZER, capacity=0)


def test_a_broken_record_raises_every_time_and_is_not_remembered() -> None:
    records = DecodedRecords(SERIALIZER)
    tampered = bytearray(record())
    tampered[-3] ^= 1
    for _ in range(2):
        with pytest.raises(BrokenRecordError):
            records.decode(bytes(tampered), None)
    assert len(records) == 0


def test_a_forgotten_task_is_decoded_again_and_the_others_stay() -> None:
    records = DecodedRecords(SERIALIZER)
    one, two, changed = record("one"), record("two"), record("one", color="red")
    first = records.decode(one, None)
    records.decode(two, None)
    records.decode(changed, None)  # "one" rewritten: the id now points at this record
    records.forget(["one", "gone"])  # an id never decoded is no error
    assert len(records) == 2  # the record of "one" read before the change stays till evicted
    assert records.decode(one, None).trigger is first.trigger  # still remembered
    records.forget(["two"])
    assert len(records) == 1
    again = records.decode(two, None)
    assert again.id == "two" and len(records) == 2


def test_eviction_and_forget_agree_on_what_is_remembered() -> None:
    records = DecodedRecords(SERIALIZER, capacity=1)
    records.decode(record("one"), None)
    records.decode(record("two"), None)  # evicts "one"
    records.forget(["one"])  # nothing left of it: no error, "two" untouched
    assert len(records) == 1
    records.forget(["two"])
    assert len(records) == 0
