"""Time zone helpers shared by the triggers, including the one DST policy they all follow.

Policy: a wall time that does not exist (the spring gap) means the first instant after the gap;
a wall time that exists twice (the autumn fold) means its first occurrence (``fold=0``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, tzinfo

from asyncz_like.limits import check_time
from asyncz_like.utils import to_datetime, to_zone
from asyncz_like.zones import iana_name

__all__ = [
    "as_utc",
    "fold_end",
    "is_ambiguous",
    "localize",
    "parse_time",
    "require_aware",
    "resolve_zone",
    "wall_to_instant",
    "zone_from_name",
    "zone_name",
    "zone_text",
]

_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Wider than any UTC offset in use, so that a search bracket always holds the answer.
_BRACKET = 36 * 3600


def resolve_zone(own: tzinfo | None, given: tzinfo | str | None) -> tzinfo:
    """The trigger's own zone, else the scheduler's zone passed at call time, else UTC."""
    if own is not None:
        return own
    return to_zone(given) or UTC


def require_aware(value: datetime | None, name: str) -> datetime | None:
    """Reject naive datetimes passed to ``get_next_trigger_time``."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def as_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _wall(instant: datetime, zone: tzinfo) -> datetime:
    # Through UTC: astimezone() to the datetime's own tzinfo returns it unchanged.
    return instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _smallest(lo: int, hi: int, predicate: Callable[[int], bool]) -> int:
    """The smallest integer in ``(lo, hi]`` for which the monotonic ``predicate`` holds."""
    while hi - lo > 1:
        middle = (lo + hi) // 2
        if predicate(middle):
            hi = middle
        else:
            lo = middle
    return hi


def wall_to_instant(wall: datetime, zone: tzinfo) -> datetime:
    """The instant a naive wall time in ``zone`` stands for, under the DST policy above."""
    first = wall.replace(tzinfo=zone, fold=0)
    if _wall(first, zone) == wall:
        return first  # exists; fold=0 is the first occurrence when it exists twice
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant whose wall time is not earlier than the nonexistent ``wall``."""

    def reaches(second: int) -> bool:
        return _wall(_EPOCH + timedelta(seconds=second), zone) >= wall

    # The two readings of ``wall`` (offsets before and after the change) bracket the change.
    readings = [_epoch_seconds(wall.replace(tzinfo=zone, fold=fold)) for fold in (0, 1)]
    low, high = min(readings) - 1, max(readings)
    if reaches(low) or not reaches(high):  # a tzinfo that reads gaps differently
        base = _epoch_seconds(wall.replace(tzinfo=UTC))
        low, high = base - _BRACKET, base + _BRACKET
    return (_EPOCH + timedelta(seconds=_smallest(low, high, reaches))).astimezone(zone)


def _epoch_seconds(value: datetime) -> int:
    return int((value - _EPOCH).total_seconds())


def is_ambiguous(wall: datetime, zone: tzinfo) -> bool:
    """True when the naive ``wall`` occurs twice in ``zone`` (the autumn fold)."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    return first.utcoffset() != second.utcoffset() and _wall(second, zone) == wall


def fold_end(wall: datetime, zone: tzinfo) -> datetime:
    """The first wall time after the ambiguous ``wall`` that occurs only once."""
    first = wall.replace(tzinfo=zone, fold=0)
    second = wall.replace(tzinfo=zone, fold=1)
    span = int(abs((as_utc(second) - as_utc(first)).total_seconds()))
    offset = _smallest(0, span, lambda step: not is_ambiguous(wall + step * _SECOND, zone))
    return wall + offset * _SECOND


def localize(value: datetime | None, zone: tzinfo) -> datetime | None:
    """An aware datetime as is; a naive one placed in ``zone`` under the DST policy."""
    if value is None or value.tzinfo is not None:
        return value
    return wall_to_instant(value, zone)


def parse_time(
    value: str | date | datetime | None, zone: tzinfo | None, name: str
) -> datetime | None:
    """A datetime argument: aware as given, naive placed in ``zone``, or kept naive without one.
    ValueError naming ``name`` when it is outside the calendar (see :mod:`asyncz_like.limits`)."""
    parsed = to_datetime(value, None, name, require_tz=False)
    if zone is None or parsed is None or parsed.tzinfo is not None:
        return parsed
    return check_time(wall_to_instant(parsed, zone), name)


def zone_name(zone: tzinfo | None) -> str | None:
    """The IANA name to store for ``zone``; ValueError for zones that have none."""
    if zone is None:
        return None
    name = iana_name(zone)
    if name is not None:
        return name
    raise ValueError(
        f"Cannot store the time zone {zone!r}: it has no IANA name; "
        "use a zone name such as 'Europe/Berlin' instead"
    )


def zone_text(zone: tzinfo | None) -> str | None:
    """The zone's name for reprs, falling back to ``str(zone)`` for unnamed zones."""
    try:
        return zone_name(zone)
    except ValueError:
        return str(zone)


def zone_from_name(name: str | None) -> tzinfo | None:
    """The zone a trigger's state names (see :func:`zone_name`); ValueError naming it."""
    if name is not None and not isinstance(name, str):
        raise ValueError(f"timezone must be a zone name, got {name!r}")
    try:
        return to_zone(name)
    except ValueError as exc:
        raise ValueError(f"timezone: {exc}") from None
