"""Time zones: any tzinfo (zoneinfo, pytz, dateutil, tzlocal) or a zone name, as a zone that
plain datetime arithmetic handles, and the one place a zone's IANA name is found."""

from __future__ import annotations

from datetime import UTC, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["iana_name", "is_pytz", "normalize_timezone", "to_timezone", "to_zone"]


def iana_name(zone: tzinfo) -> str | None:
    """The IANA name of ``zone`` (zoneinfo and its tzlocal subclasses, pytz, dateutil's
    tzfile and tzutc, ``datetime.UTC``), or None when it has none (a fixed offset)."""
    for attribute in ("key", "zone"):  # zoneinfo (and subclasses), pytz
        key = getattr(zone, attribute, None)
        if isinstance(key, str) and key:
            return key
    if zone.utcoffset(None) == timedelta(0) and zone.tzname(None) == "UTC":
        return "UTC"  # datetime.UTC, dateutil's tzutc
    filename = getattr(zone, "_filename", None)  # dateutil's tzfile
    if isinstance(filename, str) and "zoneinfo/" in filename:
        return filename.rsplit("zoneinfo/", 1)[1]
    return None


def is_pytz(value: object) -> bool:
    return type(value).__module__.startswith("pytz")


def normalize_timezone(value: tzinfo) -> tzinfo:
    """Turn a pytz zone into the equivalent zoneinfo one; others pass through unchanged.

    pytz zones give wrong offsets with plain datetime arithmetic, so they are never used as is.
    tzlocal's zoneinfo subclasses become plain zoneinfo objects.
    """
    pytz = is_pytz(value)
    if pytz or (isinstance(value, ZoneInfo) and type(value) is not ZoneInfo):
        name = iana_name(value)
        if name is not None:
            return UTC if pytz and name == "UTC" else ZoneInfo(name)
    return value


def to_timezone(value: str | tzinfo | None) -> tzinfo | None:
    """asyncz's helper: a zone name as a tzinfo; a tzinfo object (pytz too) as given."""
    if isinstance(value, tzinfo):
        return value
    if value is not None and not isinstance(value, str):
        raise TypeError(f"Expected tzinfo, got {type(value).__name__} instead")
    if value is not None and value.upper() == "UTC":
        return ZoneInfo("UTC")  # as asyncz: the zone by that name (to_zone gives datetime.UTC)
    return to_zone(value)


def to_zone(value: str | tzinfo | None) -> tzinfo | None:
    """A zone name or any tzinfo (zoneinfo, pytz, dateutil) as a tzinfo that plain datetime
    arithmetic handles (pytz zones become zoneinfo ones); None stays None."""
    if value is None or value is UTC or value.__class__ is ZoneInfo:
        return value  # the usual zones, usable as they are
    if isinstance(value, str):
        if value.upper() == "UTC":
            return UTC
        try:
            return ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"Unknown time zone: {value!r}") from exc
    if isinstance(value, tzinfo):
        return normalize_timezone(value)
    raise TypeError(f"Expected a time zone name or a tzinfo object, got {type(value).__name__}")
