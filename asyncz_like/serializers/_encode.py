"""Python values to plain JSON data, with tags for the types JSON lacks.

A tagged value is the one-key object ``{"__az__": [tag, payload]}``. A user dict that has the
key ``"__az__"``, or keys that are not strings, is stored as a ``"map"`` tag, so user data can
never be mistaken for a tag.
"""

from __future__ import annotations

import base64
import functools
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from asyncz_like.serializers._paths import (
    MAP_KEY,
    SET_ITEM,
    TRIGGER_STATE,
    Unencodable,
    index_segment,
    key_segment,
    type_name,
)
from asyncz_like.serializers._zone_codec import encode_zone
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import obj_to_ref

TAG = "__az__"


def tag(name: str, payload: Any) -> dict[str, Any]:
    return {TAG: [name, payload]}


def encode(value: Any) -> Any:
    """``value`` as JSON-ready data; raises Unencodable naming what cannot be encoded."""
    cls = type(value)
    if cls is str or cls is int or cls is bool or value is None:
        return value
    if cls is float:
        return value if math.isfinite(value) else tag("float", repr(value))
    if cls is dict:
        return _encode_dict(value)
    if cls is list:
        return _encode_items(value)
    encoder = _BY_TYPE.get(cls)
    if encoder is not None:
        return encoder(value)
    return _encode_subclass(value)


def _encode_dict(value: dict[Any, Any]) -> Any:
    if TAG in value:
        return _encode_map(value)
    result: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            return _encode_map(value)
        # JSON's own scalars inline, the other types to their encoder: a task's state
        cls = item.__class__
        if cls is str or cls is int or cls is bool or item is None:
            result[key] = item
            continue
        try:
            encoder = _BY_TYPE.get(cls)
            result[key] = encode(item) if encoder is None else encoder(item)
        except Unencodable as exc:
            exc.push(key_segment(key))
            raise
    return result


def _encode_map(value: dict[Any, Any]) -> Any:
    pairs = []
    for key, item in value.items():
        try:
            encoded_key = encode(key)
        except Unencodable as exc:
            exc.push(MAP_KEY)
            raise
        try:
            pairs.append([encoded_key, encode(item)])
        except Unencodable as exc:
            exc.push(key_segment(key))
            raise
    return tag("map", pairs)


def _encode_items(value: Any) -> list[Any]:
    result = []
    for index, item in enumerate(value):
        cls = item.__class__
        if cls is str or cls is int or cls is bool or item is None:  # as in _encode_dict
            result.append(item)
            continue
        try:
            result.append(encode(item))
        except Unencodable as exc:
            exc.push(index_segment(index))
            raise
    return result


def _encode_set(name: str) -> Callable[[Any], Any]:
    def encode_set(value: set[Any] | frozenset[Any]) -> Any:
        try:
            return tag(name, [encode(item) for item in value])
        except Unencodable as exc:
            exc.push(SET_ITEM)
            raise

    return encode_set


def _encode_datetime(value: datetime) -> Any:
    if value.tzinfo is UTC:  # run times and anchors: what encode_zone gives, without it
        text = value.isoformat()
        return {TAG: ["datetime", [text, 0, 1] if value.fold else [text, 0]]}
    spec = None
    if value.tzinfo is not None:
        value, spec = encode_zone(value)
    payload = [value.isoformat(), spec]
    return tag("datetime", [*payload, 1] if value.fold else payload)


def _encode_time(value: time) -> Any:
    spec = None
    if value.tzinfo is not None:
        value, spec = encode_zone(value)
    payload = [value.isoformat(), spec]
    return tag("time", [*payload, 1] if value.fold else payload)


def _encode_timedelta(value: timedelta) -> Any:
    return {TAG: ["timedelta", [value.days, value.seconds, value.microseconds]]}


@functools.lru_cache(maxsize=256)
def _class_reference(cls: type[BaseTrigger]) -> str:
    return obj_to_ref(cls)


def _encode_trigger(trigger: BaseTrigger) -> Any:
    cls = type(trigger)
    try:
        reference = _class_reference(cls)
    except (ValueError, TypeError) as exc:
        raise Unencodable(
            f"the trigger class {cls.__qualname__} cannot be stored: it must be importable "
            f"as 'module:qualname' (defined at module level); {exc}",
            hint=False,
        ) from None
    try:
        state = trigger.__getstate__()
    except NotImplementedError as exc:
        raise Unencodable(f"the trigger cannot be stored: {exc}", hint=False) from None
    try:
        return tag("trigger", {"class": reference, "state": encode(state)})
    except Unencodable as exc:
        exc.push(TRIGGER_STATE)
        raise


_BY_TYPE: dict[type, Callable[[Any], Any]] = {
    tuple: lambda value: tag("tuple", _encode_items(value)),
    set: _encode_set("set"),
    frozenset: _encode_set("frozenset"),
    datetime: _encode_datetime,
    date: lambda value: tag("date", value.isoformat()),
    time: _encode_time,
    timedelta: _encode_timedelta,
    UUID: lambda value: tag("uuid", str(value)),
    Decimal: lambda value: tag("decimal", str(value)),
    bytes: lambda value: tag("bytes", base64.b64encode(value).decode("ascii")),
}

# Subclasses are stored as their base type, as the json module does (an IntEnum as an int).
_BASES: tuple[tuple[type, Callable[[Any], Any]], ...] = (
    (BaseTrigger, _encode_trigger),
    (str, str.__str__),
    (int, int.__int__),
    (float, lambda value: encode(float(value))),
    (dict, _encode_dict),
    (list, _encode_items),
    *_BY_TYPE.items(),  # datetime before date: dicts keep their order
)


def _encode_subclass(value: Any) -> Any:
    cls = type(value)
    for base, encoder in _BASES:
        if isinstance(value, base):
            if base is BaseTrigger:  # the next of its class goes straight to its encoder
                _BY_TYPE[cls] = encoder
            return encoder(value)
    raise Unencodable(f"cannot encode object of type {type_name(value)}")
