"""Run records and kept work to bytes and back (the pure part of the persistent history)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from asyncz_like.exceptions import BrokenRecordError, SerializationError, TaskConfigurationError
from asyncz_like.runs import Backoff, Run, RunError, RunStatus
from asyncz_like.runs.options import parse_options
from asyncz_like.serializers import get_serializer
from asyncz_like.workers.persistent.codec import (
    UnstoredResult,
    decode_kept,
    decode_run,
    encode_kept,
    encode_run,
    encode_work,
    snapshot,
)
from tests.unit.runs.helpers import double

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def finished_run(result: object = None) -> Run:
    return Run("r-1", "task", "name", RunStatus.FAILED, 40.0, "half", result,
               RunError("ValueError", "bad", "Traceback ..."), 2, 10, T0,
               T0 + timedelta(seconds=1), T0 + timedelta(seconds=2),
               T0 + timedelta(seconds=3))  # fmt: skip


@pytest.mark.parametrize("alias", ["json", "pickle"])
def test_a_run_round_trips(alias: str) -> None:
    serializer = get_serializer(alias)
    run = finished_run({"rows": [1, 2], "when": T0})
    again = decode_run(encode_run(snapshot(run), serializer), serializer)
    assert again.to_dict() == run.to_dict() and again.result == run.result


def test_an_unencodable_result_is_replaced_by_a_note() -> None:
    serializer = get_serializer("json")
    run = finished_run(threading.Lock())
    again = decode_run(encode_run(snapshot(run), serializer), serializer)
    assert isinstance(again.result, UnstoredResult)
    assert "lock" in again.result.reason and "result not stored" in repr(again.result)
    assert again.status is RunStatus.FAILED and again.error == run.error
    # written again (by the scheduler that read it), the note stays a note
    third = decode_run(encode_run(snapshot(again), serializer), serializer)
    assert third.result == again.result


def test_a_record_that_is_not_a_run_is_broken() -> None:
    serializer = get_serializer("json")
    with pytest.raises(BrokenRecordError, match="version"):
        decode_run(serializer.dumps({"id": "x", "v": 99}), serializer)
    with pytest.raises(BrokenRecordError, match="not a run record"):
        decode_run(serializer.dumps({"id": "x", "v": 1}), serializer)


def test_work_round_trips_with_its_options_and_due_time() -> None:
    serializer = get_serializer("json")
    options = parse_options("n", 5, 30, 2, Backoff(2, 3, 60, 0.5), (KeyError, OSError), "pool")
    work = encode_work(double, None, (4,), {"x": (1, 2)}, options, serializer)
    run = finished_run()
    kept = decode_kept(run, encode_kept(work, T0, serializer), serializer)
    assert kept.fn is double and kept.args == (4,) and kept.kwargs == {"x": (1, 2)}
    assert kept.options == options and kept.due == T0 and kept.run is run


def test_work_with_a_reference_keeps_the_reference() -> None:
    serializer = get_serializer("json")
    options = parse_options()
    work = encode_work(double, "tests.unit.runs.helpers:double", (), {}, options, serializer)
    assert serializer.loads(work)["fn"] == "tests.unit.runs.helpers:double"


def test_work_that_cannot_be_kept_fails_with_a_clear_error() -> None:
    serializer = get_serializer("json")
    options = parse_options()
    with pytest.raises(TaskConfigurationError, match=r"fn: the function .*lambda"):
        encode_work(lambda: None, None, (), {}, options, serializer)
    with pytest.raises(SerializationError, match=r"args\[0\]"):
        encode_work(double, None, (threading.Lock(),), {}, options, serializer)

    class Local(Exception): ...

    with pytest.raises(TaskConfigurationError, match="retry_on"):
        encode_work(double, None, (), {}, parse_options(retry_on=Local), serializer)


def test_kept_work_whose_function_is_gone_is_broken() -> None:
    serializer = get_serializer("json")
    work = encode_work(double, "tests.unit.runs.helpers:gone", (), {}, parse_options(),
                       serializer)  # fmt: skip
    with pytest.raises(BrokenRecordError, match="gone") as caught:
        decode_kept(finished_run(), encode_kept(work, None, serializer), serializer)
    assert caught.value.task_id == "r-1"
