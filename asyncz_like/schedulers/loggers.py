"""Where the scheduler gets its loggers: asyncz's ``loggers_class`` option."""

from __future__ import annotations

import logging
from typing import Any

from asyncz_like.utils import ref_to_obj

__all__ = ["ClassicLogging", "LoggersType", "build_loggers"]

#: A loggers class: built without arguments, indexed by logger name.
LoggersType = type[dict[str, Any]]


class ClassicLogging(dict[str, logging.Logger]):
    """Loggers by name from the standard ``logging`` module (the default)."""

    def __missing__(self, name: str) -> logging.Logger:
        logger = logging.getLogger(name)
        self[name] = logger
        return logger


def build_loggers(loggers_class: Any, default: Any) -> Any:
    """An instance of ``loggers_class`` (a class or its ``module:Class`` reference), or of
    ``default`` when None. It maps a logger name to a logger, as ``logging.getLogger`` does."""
    cls = default if loggers_class is None else loggers_class
    if isinstance(cls, str):
        cls = ref_to_obj(cls)
    if not callable(cls):
        raise TypeError(f"loggers_class must be a class or a 'module:Class' reference, got {cls!r}")
    return cls()
