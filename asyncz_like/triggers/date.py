"""A trigger that fires once."""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from asyncz_like.triggers._common import ValueTrigger
from asyncz_like.triggers._state import check_version, load_datetime
from asyncz_like.triggers._zones import (
    as_utc,
    localize,
    parse_time,
    require_aware,
    resolve_zone,
    zone_from_name,
    zone_name,
)
from asyncz_like.utils import datetime_repr, to_zone


class DateTrigger(ValueTrigger):
    """Fires once, at ``run_at``.

    Args:
        run_at: when to fire (datetime, date or ISO string); None fires at ``now`` of the first
            call. A naive value is placed in ``timezone``, else in the scheduler's zone; a wall
            time that does not exist fires at the end of the DST gap, one that exists twice at
            its first occurrence.
        timezone: zone name or tzinfo for a naive ``run_at`` and for the returned time.
    """

    alias = "date"
    shareable = True
    #: No instance dict: a date trigger is all in these two (the memory store keeps them as
    #: a value in a task's row, docs/design.md).
    __slots__ = ("run_at", "timezone")

    def __init__(
        self,
        run_at: datetime | date | str | None = None,
        timezone: tzinfo | str | None = None,
    ) -> None:
        self.timezone = to_zone(timezone)
        self.run_at = parse_time(run_at, self.timezone, "run_at")

    @property
    def allow_mistrigger_by_default(self) -> bool:  # type: ignore[override]
        """A task that runs now (no ``run_at``) has no grace time by default, so that it is
        never missed however late it starts (as asyncz)."""
        return self.run_at is None

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        run_at = self.run_at
        if (
            previous_time is not None
            and previous_time.tzinfo is not None
            and run_at is not None
            and run_at.tzinfo is not None
            and (now is None or now.tzinfo is not None)
            and run_at <= previous_time
        ):  # after its fire (the scheduler's question at every fire): instants compared
            return None
        zone = resolve_zone(self.timezone, timezone)
        previous_time = require_aware(previous_time, "previous_time")
        now = require_aware(now, "now")
        run_at = localize(run_at, zone)
        if previous_time is not None and (
            run_at is None or as_utc(run_at) <= as_utc(previous_time)
        ):
            return None
        if run_at is None:
            if now is None:
                raise ValueError("A DateTrigger without run_at needs `now` for its first fire")
            run_at = now
        return run_at.astimezone(zone)

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1, "run_at": self.run_at, "timezone": zone_name(self.timezone)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        check_version(state, "DateTrigger")
        self.timezone = zone_from_name(state.get("timezone"))
        self.run_at = load_datetime(state.get("run_at"), "run_at")

    def _key(self) -> tuple[Any, ...]:
        return (self.run_at, self.timezone)

    def _repr_options(self) -> list[tuple[str, Any]]:
        return [("run_at", datetime_repr(self.run_at) if self.run_at else None)]

    def __str__(self) -> str:
        return f"date[{datetime_repr(self.run_at) if self.run_at else 'now'}]"
