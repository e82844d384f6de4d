"""Scheduler methods that asyncz's own plugins and framework glue call on a scheduler."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import tzinfo
from typing import Any

from asyncz_like.triggers import TRIGGERS, build_trigger
from asyncz_like.triggers.base import BaseTrigger
from asyncz_like.utils import ref_to_obj

__all__ = ["AsynczSchedulerAPI"]


class AsynczSchedulerAPI:
    """``create_trigger(trigger, trigger_args)`` and ``resolve_load_plugin(reference)``."""

    timezone: tzinfo

    def create_trigger(
        self, trigger: str | BaseTrigger | type[BaseTrigger] | None, trigger_args: Mapping[str, Any]
    ) -> BaseTrigger:
        """A trigger from an alias (None: ``"date"``), a class or an instance, as asyncz builds
        one: a trigger that takes a ``timezone`` and is not given one gets this scheduler's."""
        if isinstance(trigger, BaseTrigger):
            return build_trigger(trigger, trigger_args)
        if trigger is None:
            trigger = "date"
        if isinstance(trigger, str):
            cls = TRIGGERS.get(trigger)
        elif isinstance(trigger, type) and issubclass(trigger, BaseTrigger):
            cls = trigger
        else:
            raise TypeError(
                f"Expected a trigger instance or string, got {type(trigger).__name__!r} instead."
            )
        options = dict(trigger_args)
        if "timezone" not in options and _takes_timezone(cls):
            options["timezone"] = self.timezone
        return build_trigger(cls, options)

    @staticmethod
    def resolve_load_plugin(reference: str) -> Any:
        """The object a ``module:Class`` reference names (asyncz's plugin loader)."""
        return ref_to_obj(reference)


def _takes_timezone(cls: type[BaseTrigger]) -> bool:
    import inspect

    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return "timezone" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
