"""Equality, hashing and repr shared by the built-in triggers."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from asyncz_like.limits import check_seconds
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import datetime_repr


class ValueTrigger(BaseTrigger):
    """A trigger that is a value: equal when of the same type with the same settings."""

    __slots__ = ()

    def _key(self) -> tuple[Any, ...]:
        return ()

    def _repr_options(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs shown by repr; None values are left out."""
        return []

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, ValueTrigger)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self), self._key()))

    def _options_text(self) -> str:
        return ", ".join(
            f"{name}={value!r}" if not isinstance(value, str) else f"{name}='{value}'"
            for name, value in self._repr_options()
            if value is not None
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} ({self._options_text()})>"


def zone_of(value: object) -> tzinfo | None:
    """The zone of an aware datetime given as a trigger's bound (None for anything else)."""
    return value.tzinfo if isinstance(value, datetime) else None


def shown_time(value: datetime | None) -> str | None:
    """A time as a repr shows it: ``2022-11-03 00:00:00 GMT`` (asyncz's form), or None."""
    return None if value is None else datetime_repr(value)


def jitter_before(jitter: int | float | None, fire: datetime, end: datetime | None) -> float | None:
    """The jitter a fire may get without moving past ``end`` (no fire after ``end_at``)."""
    if not jitter or end is None:
        return jitter
    return max(min(float(jitter), (end - fire).total_seconds()), 0.0)


def check_jitter(jitter: int | float | None) -> int | float | None:
    """Validate a jitter argument: None or a finite, non-negative number of seconds no longer
    than the calendar (0 means None). ValueError naming ``jitter`` otherwise."""
    if jitter is None:
        return None
    return check_seconds(jitter, "jitter", wrong_type=ValueError) or None


def check_order(start_at: datetime | None, end_at: datetime | None) -> None:
    """Reject an end before the start, when both are aware or both naive."""
    if start_at is None or end_at is None:
        return
    if (start_at.tzinfo is None) == (end_at.tzinfo is None) and end_at < start_at:
        raise ValueError("end_at must not be earlier than start_at")
