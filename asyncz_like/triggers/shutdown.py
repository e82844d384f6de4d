"""A trigger for tasks that run when the scheduler shuts down."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

from asyncz_like.triggers._common import ValueTrigger
from asyncz_like.triggers._state import check_version


class ShutdownTrigger(ValueTrigger):
    """Never fires on the clock: the scheduler runs its tasks once, at shutdown."""

    alias = "shutdown"
    allow_mistrigger_by_default = True

    def get_next_trigger_time(
        self, timezone: tzinfo | str, previous_time: datetime | None, now: datetime | None = None
    ) -> datetime | None:
        return None

    def __getstate__(self) -> dict[str, Any]:
        return {"version": 1}

    def __setstate__(self, state: dict[str, Any]) -> None:
        check_version(state, "ShutdownTrigger")

    def __repr__(self) -> str:
        return "<ShutdownTrigger>"

    def __str__(self) -> str:
        return "shutdown"
