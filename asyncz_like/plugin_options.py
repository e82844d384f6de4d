"""What the plugin base classes do with keyword options their subclass did not take."""

from __future__ import annotations

from typing import Any

__all__ = ["keep_extra_options"]


def keep_extra_options(plugin: object, options: dict[str, Any]) -> None:
    """Keep ``options`` as attributes of ``plugin``, as asyncz's base classes do.

    Users' stores, executors and triggers pass their own options up to the base class and
    read them back as attributes. Our own plugin classes take every option they know by name,
    so one left over there is a mistake: TypeError naming it.
    """
    if not options:
        return
    cls = type(plugin)
    if cls.__module__.partition(".")[0] == "asyncz_like":
        raise TypeError(f"{cls.__name__} got unexpected option(s): {', '.join(sorted(options))}")
    for name, value in options.items():
        setattr(plugin, name, value)
