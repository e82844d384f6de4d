"""The work record of a broker run: read back as the envelope it was, a broken one reported."""

from __future__ import annotations

from typing import Any

import pytest

from asyncz_like.brokers import Envelope
from asyncz_like.brokers.codec import decode_work, encode_work
from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.runs import Backoff
from asyncz_like.serializers.json import JSONSerializer
from tests.helpers import START

SERIALIZER = JSONSerializer()
COLUMNS: dict[str, Any] = {"run_id": "r", "queue": "q", "priority": 2, "max_deliveries": 4,
                           "task_id": None, "name": None, "created_at": START}  # fmt: skip


def test_a_work_record_reads_back_as_its_envelope_and_backoffs_are_shared() -> None:
    backoff = Backoff(2.0, 3.0, 60.0, 0.0)
    sent = Envelope("r", "tests.helpers:noop", args=(1,), queue="q", priority=2,
                    max_deliveries=4, retry_backoff=backoff, created_at=START)  # fmt: skip
    first = decode_work(encode_work(sent, SERIALIZER), SERIALIZER, **COLUMNS)
    second = decode_work(encode_work(sent, SERIALIZER), SERIALIZER, **COLUMNS)
    assert first == sent
    assert second.retry_backoff is first.retry_backoff  # built once, not once per read


@pytest.mark.parametrize(
    ("backoff", "reason"),
    [
        ([-1.0, 2.0, 300.0, 0.1], "Backoff.base"),
        ([[1.0], 2.0, 300.0, 0.1], "Backoff.base"),
        ([1.0] * 6, "not a work record"),
    ],
)
def test_a_record_with_a_bad_backoff_is_broken(backoff: list[Any], reason: str) -> None:
    state = SERIALIZER.loads(encode_work(Envelope("r", "tests.helpers:noop"), SERIALIZER))
    state["backoff"] = backoff
    with pytest.raises(BrokenRecordError, match=reason):
        decode_work(SERIALIZER.dumps(state), SERIALIZER, **COLUMNS)
