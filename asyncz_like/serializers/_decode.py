"""JSON data back to Python values: the ``object_hook`` that undoes the tags of ``_encode``."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from asyncz_like.serializers._encode import TAG
from asyncz_like.serializers._zone_codec import decode_zone
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import ref_to_obj


class MalformedRecord(ValueError):
    """Internal: the JSON is valid but is not what the encoder writes."""


def object_hook(obj: dict[str, Any]) -> Any:
    """Called by ``json.loads`` for every object, innermost first."""
    if TAG not in obj:
        return obj
    tagged = obj[TAG]
    if len(obj) != 1 or type(tagged) is not list or len(tagged) != 2:
        raise MalformedRecord(f"malformed {TAG!r} tag: {obj!r}")
    name, payload = tagged
    decoder = _DECODERS.get(name) if type(name) is str else None
    if decoder is None:
        raise MalformedRecord(f"unknown tag {name!r}")
    try:
        return decoder(payload)
    except MalformedRecord:
        raise
    except Exception as exc:
        raise MalformedRecord(f"invalid {name!r} value {payload!r}: {exc}") from exc


def _list(payload: Any) -> list[Any]:
    if type(payload) is not list:
        raise MalformedRecord(f"expected a list, got {payload!r}")
    return payload


def _text(payload: Any) -> str:
    if type(payload) is not str:
        raise MalformedRecord(f"expected a string, got {payload!r}")
    return payload


def _when(payload: Any) -> tuple[str, Any, int]:
    """``[iso, zone spec]`` or ``[iso, zone spec, fold]``."""
    items = _list(payload)
    if len(items) not in (2, 3):
        raise MalformedRecord(f"expected [iso, zone(, fold)], got {payload!r}")
    fold = items[2] if len(items) == 3 else 0
    return _text(items[0]), items[1], 1 if fold else 0


def _datetime(payload: Any) -> datetime:
    text, spec, fold = _when(payload)
    zone = None if spec is None else decode_zone(spec)
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def _time(payload: Any) -> time:
    text, spec, fold = _when(payload)
    zone = None if spec is None else decode_zone(spec)
    return time.fromisoformat(text).replace(tzinfo=zone, fold=fold)


def _timedelta(payload: Any) -> timedelta:
    days, seconds, microseconds = _list(payload)
    return timedelta(days=days, seconds=seconds, microseconds=microseconds)


def _map(payload: Any) -> dict[Any, Any]:
    return {key: value for key, value in map(_list, _list(payload))}


_TRIGGER_KEYS = frozenset({"class", "state"})


def _trigger(payload: Any) -> BaseTrigger:
    if type(payload) is not dict or payload.keys() != _TRIGGER_KEYS:
        raise MalformedRecord(f"expected {{'class', 'state'}}, got {payload!r}")
    cls = ref_to_obj(_text(payload["class"]))
    if not (isinstance(cls, type) and issubclass(cls, BaseTrigger)):
        raise MalformedRecord(f"{payload['class']!r} is not a trigger class")
    state = payload["state"]
    if type(state) is not dict:
        raise MalformedRecord(f"trigger {payload['class']!r}: its state is not an object")
    trigger = cls.__new__(cls)
    try:
        trigger.__setstate__(state)  # checks the state as the trigger's __init__ checks it
    except Exception as exc:
        raise MalformedRecord(f"trigger {payload['class']!r}: {exc}") from exc
    return trigger


def _float(payload: Any) -> float:
    if payload not in ("nan", "inf", "-inf"):
        raise MalformedRecord(f"expected nan, inf or -inf, got {payload!r}")
    return float(payload)


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "tuple": lambda payload: tuple(_list(payload)),
    "set": lambda payload: set(_list(payload)),
    "frozenset": lambda payload: frozenset(_list(payload)),
    "map": _map,
    "datetime": _datetime,
    "date": lambda payload: date.fromisoformat(_text(payload)),
    "time": _time,
    "timedelta": _timedelta,
    "uuid": lambda payload: UUID(_text(payload)),
    "decimal": lambda payload: Decimal(_text(payload)),
    "bytes": lambda payload: base64.b64decode(_text(payload), validate=True),
    "float": _float,
    "trigger": _trigger,
}
