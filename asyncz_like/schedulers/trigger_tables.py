"""asyncz's trigger tables: aliases to ``module:Class`` references, and the classes loaded."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from datetime import tzinfo
from typing import Any

from asyncz_like.schedulers import defaults
from asyncz_like.triggers import TRIGGERS, build_trigger
from asyncz_like.triggers.base import BaseTrigger


class TriggerTables:
    """Builds triggers as asyncz's ``create_trigger`` does, from ``plugins`` (alias to
    reference; asyncz code replaces or fills it) and ``classes`` (the classes loaded)."""

    def __init__(self) -> None:
        self.plugins: dict[str, Any] = dict(defaults.triggers)
        self.classes: dict[str, type[BaseTrigger]] = {}

    def create(
        self,
        trigger: str | BaseTrigger | type[BaseTrigger] | Mapping[str, Any] | None,
        trigger_args: Mapping[str, Any],
        timezone: tzinfo,
        load: Callable[[str], Any],
    ) -> BaseTrigger:
        """A trigger from an alias (None: ``"date"``), a class or an instance; a trigger that
        takes a ``timezone`` and is not given one gets ``timezone``. ``load`` loads a
        ``module:Class`` reference."""
        if isinstance(trigger, BaseTrigger | Mapping):  # an instance, or a {"type": ...} config
            return build_trigger(trigger, trigger_args)
        if trigger is None:
            trigger = "date"
        if isinstance(trigger, str):
            cls = self._trigger_class(trigger, load)
        elif isinstance(trigger, type) and issubclass(trigger, BaseTrigger):
            cls = trigger
        else:
            raise TypeError(
                f"Expected a trigger instance or string, got {type(trigger).__name__!r} instead."
            )
        options = dict(trigger_args)
        if "timezone" not in options and _takes_timezone(cls):
            options["timezone"] = timezone
        return build_trigger(cls, options)

    def _trigger_class(self, alias: str, load: Callable[[str], Any]) -> type[BaseTrigger]:
        """The class of a trigger alias: loaded already, or loaded from ``plugins``."""
        cls = self.classes.get(alias)
        if cls is not None:
            return cls
        if alias not in self.plugins:
            return TRIGGERS.get(alias)  # UnknownAliasError (a LookupError) naming the known
        loaded = load(self.plugins[alias])
        if not (isinstance(loaded, type) and issubclass(loaded, BaseTrigger)):
            raise TypeError("The trigger entry point does not point to a trigger class.")
        self.classes[alias] = loaded
        return loaded


def _takes_timezone(cls: type[BaseTrigger]) -> bool:
    try:
        parameters = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return "timezone" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )
