from __future__ import annotations

import json
import pickle
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from asyncz_like.exceptions import BrokenRecordError, SerializationError, UnknownAliasError
from asyncz_like.serializers import (
    SERIALIZERS,
    BaseSerializer,
    JSONSerializer,
    PickleSerializer,
    SignedSerializer,
    get_serializer,
)
from asyncz_like.triggers.interval import IntervalTrigger
from tests.unit.serializers.helpers import assert_same

STATE: dict[str, Any] = {
    "id": "abc",
    "args": (1, {2, 3}),
    "kwargs": {"when": datetime(2026, 1, 1, tzinfo=UTC), 4: b"x"},
    "trigger": IntervalTrigger(minutes=5),
}


class Plain(BaseSerializer):
    """A user's own serializer, without a header."""

    def dumps(self, state: dict[str, Any]) -> bytes:
        return json.dumps(state).encode()

    def loads(self, data: bytes) -> dict[str, Any]:
        return dict(json.loads(data))


def test_json_is_the_default_and_pickle_is_opt_in() -> None:
    assert type(get_serializer()) is JSONSerializer
    assert type(get_serializer(None)) is JSONSerializer
    assert type(get_serializer("json")) is JSONSerializer
    assert type(get_serializer("pickle")) is PickleSerializer
    assert SERIALIZERS.aliases() == ["json", "pickle"]


def test_instances_pass_through_and_bad_values_are_refused() -> None:
    mine = Plain()
    assert get_serializer(mine) is mine
    with pytest.raises(UnknownAliasError, match=r"'yaml'.*json, pickle"):
        get_serializer("yaml")
    with pytest.raises(TypeError, match="serializer must be"):
        get_serializer(42)  # type: ignore[arg-type]


def test_pickle_round_trips_what_json_cannot() -> None:
    serializer = get_serializer("pickle")
    state = {**STATE, "kwargs": {"big": 1j, "nested": [range(3)]}}
    data = serializer.dumps(state)
    assert data[:2] == b"P1" and data[2:4] == b"\x80\x05"  # protocol 5
    result = serializer.loads(data)
    assert result["kwargs"] == state["kwargs"] and result["trigger"] == state["trigger"]


def test_pickle_error_names_the_path() -> None:
    with pytest.raises(SerializationError) as info:
        PickleSerializer().dumps({"kwargs": {"items": [1, threading.Lock()]}})
    assert info.value.path == "kwargs['items'][1]"
    assert "cannot pickle object of type _thread.lock" in str(info.value)


@pytest.mark.parametrize("inner", ["json", "pickle"])
@pytest.mark.parametrize("key", ["secret", b"\x00binary key"])
def test_signed_records_round_trip(inner: str, key: str | bytes) -> None:
    serializer = get_serializer(inner, secret_key=key)
    assert isinstance(serializer, SignedSerializer)
    data = serializer.dumps(STATE)
    assert data[:2] == b"S1"
    assert_same(STATE["kwargs"], serializer.loads(data)["kwargs"])


@pytest.mark.parametrize("inner", ["json", "pickle"])
def test_tampering_with_any_byte_is_detected(inner: str) -> None:
    serializer = get_serializer(inner, secret_key="secret")
    data = serializer.dumps(STATE)
    for index in range(len(data)):
        tampered = bytearray(data)
        tampered[index] ^= 0x01
        with pytest.raises(BrokenRecordError):
            serializer.loads(bytes(tampered))


@pytest.mark.parametrize(
    ("data_key", "read_key", "reason"),
    [
        ("secret", "other", "bad signature"),
        (None, "secret", "not signed"),
        ("secret", None, "is signed: give the store the secret_key"),
    ],
)
def test_keys_must_match(data_key: str | None, read_key: str | None, reason: str) -> None:
    data = get_serializer("pickle", data_key).dumps(STATE)
    with pytest.raises(BrokenRecordError, match=reason):
        get_serializer("pickle", read_key).loads(data)


def test_truncated_and_unknown_signed_records() -> None:
    serializer = get_serializer(secret_key="secret")
    data = serializer.dumps(STATE)
    for broken, reason in [(data[:20], "bad signature"), (b"S2" + data[2:], "version b'2'")]:
        with pytest.raises(BrokenRecordError, match=reason):
            serializer.loads(broken)


def test_signing_wraps_any_serializer() -> None:
    serializer = get_serializer(Plain(), secret_key="k")
    assert serializer.loads(serializer.dumps({"a": 1, "b": 2})) == {"a": 1, "b": 2}
    with pytest.raises(ValueError, match="already signed"):
        get_serializer(serializer, secret_key="k")
    with pytest.raises(ValueError, match="must not be empty"):
        get_serializer(secret_key="")
    with pytest.raises(TypeError, match="secret_key must be str or bytes"):
        SignedSerializer(JSONSerializer(), 12)  # type: ignore[arg-type]
    assert "hunter2" not in repr(get_serializer(secret_key="hunter2"))


def test_formats_are_told_apart() -> None:
    with pytest.raises(
        BrokenRecordError, match="written by the json serializer, this store uses pickle"
    ):
        PickleSerializer().loads(JSONSerializer().dumps({}))
    with pytest.raises(BrokenRecordError, match="not a pickle record"):
        PickleSerializer().loads(b"\x80\x05garbage")
    with pytest.raises(BrokenRecordError, match="invalid pickle record"):
        PickleSerializer().loads(b"P1\x80\x05garbage")
    with pytest.raises(BrokenRecordError, match="expected a pickled dict"):
        PickleSerializer().loads(b"P1" + pickle.dumps([1]))
