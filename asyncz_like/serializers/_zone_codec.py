"""Time zones in JSON: a zoneinfo key, or a fixed offset in seconds (with its name, if any)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from asyncz_like.serializers._paths import Unencodable
from asyncz_like.zones import iana_name

T = TypeVar("T", datetime, time)

#: A zone as stored: an IANA key, offset seconds, or ``[offset seconds, name]``.
ZoneSpec = str | int | float | list[Any]


def encode_zone(value: T) -> tuple[T, ZoneSpec]:
    """The zone of an aware ``value`` as a spec, with ``value`` moved to zoneinfo if need be."""
    zone = value.tzinfo
    assert zone is not None
    if isinstance(zone, timezone):
        return value, _offset_spec(zone)
    if isinstance(zone, ZoneInfo) and zone.key:
        return value, zone.key
    key = iana_name(zone)
    if key is None:
        raise Unencodable(
            f"cannot encode the time zone {zone!r}: it has no IANA name; use a zoneinfo "
            "zone (ZoneInfo('Europe/Berlin')) or a fixed offset (datetime.timezone)",
            hint=False,
        )
    if key == "UTC" and zone.utcoffset(None) == timedelta(0):
        return _moved(value, UTC), 0
    return _moved(value, ZoneInfo(key)), key


def decode_zone(spec: Any) -> tzinfo:
    if isinstance(spec, str):
        return ZoneInfo(spec)  # cached by zoneinfo itself
    if isinstance(spec, int | float) and not isinstance(spec, bool):
        return _fixed_zone(spec, None)
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[1], str):
        return _fixed_zone(spec[0], spec[1])
    raise ValueError(f"invalid time zone {spec!r}")


@functools.lru_cache(maxsize=64)
def _fixed_zone(seconds: float, name: str | None) -> timezone:
    """One object per fixed offset (and name): a record read builds none (UTC is 0)."""
    offset = timedelta(seconds=seconds)
    return timezone(offset) if name is None else timezone(offset, name)


def _offset_spec(zone: timezone) -> ZoneSpec:
    offset, *name = zone.__getinitargs__()  # type: ignore[attr-defined]  # (offset[, name])
    seconds = offset.total_seconds()
    number = int(seconds) if seconds.is_integer() else seconds
    return [number, name[0]] if name else number


def _moved(value: T, zone: tzinfo) -> T:
    """The same instant in ``zone`` (a datetime), or the same wall time (a time of day)."""
    if isinstance(value, datetime):
        return value.astimezone(zone)
    return value.replace(tzinfo=zone)
