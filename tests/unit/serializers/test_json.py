from __future__ import annotations

import enum
import json
import socket
import threading
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from asyncz_like.exceptions import BrokenRecordError, SerializationError
from asyncz_like.serializers import JSONSerializer
from tests.unit.serializers.helpers import assert_same

BERLIN = ZoneInfo("Europe/Berlin")
SERIALIZER = JSONSerializer()


def round_trip(value: Any) -> Any:
    return SERIALIZER.loads(SERIALIZER.dumps({"value": value}))["value"]


class Color(enum.IntEnum):
    RED = 1


VALUES = {
    "str": "zürich ✓",
    "int": 2**70,
    "bool": True,
    "none": None,
    "float": 1.5,
    "negative zero": -0.0,
    "list": [1, "a", None],
    "tuple": (1, (2, 3), []),
    "empty tuple": (),
    "set": {1, 2, 3},
    "frozenset": frozenset({"a", (1, 2)}),
    "bytes": b"\x00\xff binary",
    "date": date(2026, 2, 28),
    "time": time(8, 30, 15, 123456),
    "time with offset": time(8, 30, tzinfo=timezone(timedelta(hours=-3))),
    "timedelta": timedelta(days=-3, seconds=5, microseconds=7),
    "uuid": UUID("12345678-1234-5678-1234-567812345678"),
    "decimal": Decimal("-1.2300E+5"),
    "decimal nan": Decimal("NaN"),
    "naive datetime": datetime(2026, 1, 2, 3, 4, 5, 6),
    "naive datetime fold": datetime(2026, 10, 25, 2, 30, fold=1),
    "utc": datetime(2026, 1, 2, tzinfo=UTC),
    "berlin summer": datetime(2026, 7, 1, 12, tzinfo=BERLIN),
    "berlin winter": datetime(2026, 1, 1, 12, tzinfo=BERLIN),
    "berlin second 02:30": datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=1),
    "berlin gap": datetime(2026, 3, 29, 2, 30, tzinfo=BERLIN),
    "zoneinfo utc": datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    "fixed offset": datetime(2026, 1, 1, 9, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    "named offset": datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-7), "MST")),
    "sub-second offset": datetime(2026, 1, 1, tzinfo=timezone(timedelta(seconds=1.000001))),
    "int keys": {1: "a", 2: "b"},
    "mixed keys": {(1, 2): "tuple", None: "none", 1.5: "float", "s": "str"},
    "nested": {"a": [{"b": ({"c": {datetime(2026, 1, 1, tzinfo=BERLIN)}},)}]},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_round_trip(value: Any) -> None:
    assert_same(value, round_trip(value))


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_non_finite_floats_round_trip_as_standard_json(text: str) -> None:
    data = SERIALIZER.dumps({"value": float(text)})
    json.loads(data[2:], parse_constant=pytest.fail)  # no NaN/Infinity literals
    assert_same(float(text), round_trip(float(text)))


def test_orjson_and_the_json_module_write_the_same_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the orjson extra, records are written by orjson: each value then reads back the
    same as when the json module writes it, and a plain record is the very same bytes."""
    from asyncz_like.serializers import json as json_format

    orjson_bytes = json_format._orjson_writer()
    if orjson_bytes is None:
        pytest.skip("the orjson extra is not installed")
    plain = {"id": "a", "n": 3, "x": 1.5, "é": ["ü", None, True], "t": (1, 2)}
    records = {}
    for name, to_bytes in (("orjson", orjson_bytes), ("json", json_format._json_bytes)):
        monkeypatch.setattr(json_format, "_to_bytes", to_bytes)
        records[name] = [SERIALIZER.dumps({"value": value}) for value in VALUES.values()]
        records[name].append(SERIALIZER.dumps(plain))
    assert records["orjson"][-1] == records["json"][-1]
    for by_orjson, by_json in zip(records["orjson"], records["json"], strict=True):
        assert_same(SERIALIZER.loads(by_json), SERIALIZER.loads(by_orjson))


def test_a_string_that_utf8_cannot_hold_is_refused_clearly() -> None:
    with pytest.raises(SerializationError, match="cannot encode the state as JSON"):
        SERIALIZER.dumps({"value": "lone \ud800 surrogate"})


def test_output_is_compact_utf8_json_after_a_header() -> None:
    data = SERIALIZER.dumps({"a": [1, "é"], "b": None})
    assert data == b'J1{"a":[1,"\xc3\xa9"],"b":null}'


def test_aware_datetime_keeps_its_zone_and_instant() -> None:
    moment = datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)
    result = round_trip(moment)
    assert result.tzinfo is BERLIN
    assert result.utcoffset() == timedelta(hours=2)
    assert result == moment


def test_pytz_and_dateutil_zones_become_zoneinfo() -> None:
    import pytz
    from dateutil import tz

    moment = pytz.timezone("Europe/Berlin").localize(datetime(2026, 10, 25, 2, 30), is_dst=False)
    result = round_trip(moment)
    assert result.tzinfo is BERLIN
    assert result.timestamp() == moment.timestamp() and result.fold == 1
    assert round_trip(datetime(2026, 1, 1, tzinfo=tz.UTC)).tzinfo is UTC
    assert round_trip(datetime(2026, 1, 1, tzinfo=tz.gettz("Europe/Berlin"))).tzinfo is BERLIN


def test_zone_without_a_name_is_refused_with_its_path() -> None:
    from dateutil import tz

    value = datetime(2026, 1, 1, tzinfo=tz.tzoffset(None, 3600))
    with pytest.raises(SerializationError, match=r"^when: cannot encode the time zone") as info:
        SERIALIZER.dumps({"when": value})
    assert info.value.path == "when"


class Label(str):
    pass


def test_subclasses_are_stored_as_their_base_type() -> None:
    # a dict's plain values are copied as they are: these must not be taken for plain ones
    state = {"enum": Color.RED, "ordered": OrderedDict(a=1), "label": Label("x"), "no": False}
    result = SERIALIZER.loads(SERIALIZER.dumps(state))
    assert_same({"enum": 1, "ordered": {"a": 1}, "label": "x", "no": False}, result)
    assert type(result["label"]) is str and result["no"] is False


def test_a_trigger_encodes_the_same_once_its_class_is_known() -> None:
    from asyncz_like.triggers import IntervalTrigger

    class Hourly(IntervalTrigger):  # not importable: refused each time, however it is found
        pass

    trigger = IntervalTrigger(hours=1, start_at=datetime(2026, 1, 1, tzinfo=UTC))
    first, second = SERIALIZER.dumps({"t": trigger}), SERIALIZER.dumps({"t": trigger})
    assert first == second
    assert SERIALIZER.loads(second)["t"].__getstate__() == trigger.__getstate__()
    for _ in range(2):
        with pytest.raises(SerializationError, match="Hourly cannot be stored"):
            SERIALIZER.dumps({"t": Hourly(hours=1)})


@pytest.mark.parametrize(
    "value",
    [
        {"__az__": ["datetime", "not a tag"]},
        {"__az__": 1},
        {"__az__": ["tuple", [1, 2]], "other": 3},
        {"x": {"__az__": {"__az__": None}}},
        {1: {"__az__": "nested"}},
    ],
)
def test_user_dicts_with_the_tag_key_round_trip(value: dict[Any, Any]) -> None:
    assert_same(value, round_trip(value))


def test_state_keys_using_the_tag_key_round_trip() -> None:
    state = {"__az__": ["tuple", []]}
    assert_same(state, SERIALIZER.loads(SERIALIZER.dumps(state)))


@pytest.mark.parametrize(
    ("state", "path", "type_name"),
    [
        ({"kwargs": {"lock": threading.Lock()}}, "kwargs['lock']", "_thread.lock"),
        ({"args": (1, [2, object()])}, "args[1][1]", "object"),
        ({"kwargs": {"a b": {"x": {3: threading.Event()}}}}, "kwargs['a b']['x'][3]", "Event"),
        ({"value": {frozenset({1}): {1j}}}, "value[frozenset({1})]{item}", "complex"),
        ({"value": {(1, 1j): 2}}, "value[<key>][1]", "complex"),
        ({"value": {1j}}, "value{item}", "complex"),
        ({"not-an-identifier": lambda: None}, "['not-an-identifier']", "function"),
    ],
)
def test_unencodable_values_are_named_by_path(state: Any, path: str, type_name: str) -> None:
    with pytest.raises(SerializationError) as info:
        SERIALIZER.dumps(state)
    assert info.value.path == path
    assert str(info.value).startswith(f"{path}: cannot encode object of type ")
    assert type_name in str(info.value)
    assert "serializer='pickle'" in str(info.value)
    assert isinstance(info.value, TypeError) and isinstance(info.value, ValueError)


def test_socket_error_reads_well() -> None:
    with socket.socket() as conn, pytest.raises(SerializationError) as info:
        SERIALIZER.dumps({"kwargs": {"conn": conn}})
    assert str(info.value).startswith("kwargs['conn']: cannot encode object of type socket.socket")


def test_circular_references_are_refused() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(SerializationError, match="refers to itself"):
        SERIALIZER.dumps({"loop": loop})


def test_state_must_be_a_dict() -> None:
    with pytest.raises(TypeError, match="state must be a dict"):
        SERIALIZER.dumps([1])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"J1{not json", "invalid JSON record"),
        (b"J1[1, 2]", "expected a JSON object"),
        (b"J1\xff\xfe", "invalid JSON record"),
        (b'J1{"a":{"__az__":["nope",1]}}', "unknown tag 'nope'"),
        (b'J1{"a":{"__az__":["tuple",1],"b":2}}', "malformed"),
        (b'J1{"a":{"__az__":["datetime",["yesterday",null]]}}', "invalid 'datetime'"),
        (b'J1{"a":{"__az__":["trigger",{"class":"os:system","state":{}}]}}', "not a trigger"),
        (b'J1{"a":{"__az__":["trigger",{"class":"gone.mod:T","state":{}}]}}', "gone.mod"),
        (b"J2{}", "unknown json record version b'2'"),
        (b"", "not a json record"),
        (b"garbage", "not a json record"),
    ],
)
def test_broken_records_raise_broken_record_error(data: bytes, reason: str) -> None:
    with pytest.raises(BrokenRecordError, match=reason) as info:
        SERIALIZER.loads(data)
    assert info.value.task_id is None


# -- property: nested structures round-trip ----------------------------------------------------

ZONES = st.one_of(
    st.none(),
    st.just(UTC),
    st.sampled_from([BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")]),
    st.builds(
        timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
    ),
)
HASHABLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.dates(),
    st.uuids(),
    st.tuples(st.integers(), st.text(max_size=3)),
)
SCALARS = st.one_of(
    HASHABLE,
    st.floats(allow_nan=False),
    st.decimals(allow_nan=False),
    st.datetimes(timezones=ZONES),
    st.times(),
    st.timedeltas(),
)
KEYS = st.one_of(st.text(max_size=8), st.just("__az__"), HASHABLE)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(st.text(max_size=6), children, max_size=4),
        st.dictionaries(KEYS, children, max_size=3),
        st.frozensets(HASHABLE, max_size=3),
        st.sets(HASHABLE, max_size=3),
    )


NESTED = st.recursive(SCALARS, _containers, max_leaves=12)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.dictionaries(st.text(max_size=10), NESTED, max_size=4))
def test_nested_structures_round_trip(state: dict[str, Any]) -> None:
    assert_same(state, SERIALIZER.loads(SERIALIZER.dumps(state)))
