"""Where in a state an unencodable value sits, reported as ``kwargs['conn']``.

Encoders raise :class:`Unencodable` at the bad value; each enclosing container adds its own
path segment while the exception unwinds, so the path costs nothing when encoding succeeds.
"""

from __future__ import annotations

from typing import Any

from asyncz_like.exceptions import SerializationError


class Unencodable(Exception):
    """Internal: a value cannot be encoded. Turned into SerializationError at the top."""

    def __init__(self, reason: str, *, hint: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.segments: list[str] = []  # innermost first

    def push(self, segment: str) -> None:
        self.segments.append(segment)

    def to_error(self, hint: str) -> SerializationError:
        path = format_path(reversed(self.segments))
        text = f"{path}: {self.reason}"
        return SerializationError(f"{text}. {hint}" if self.hint and hint else text, path)


def key_segment(key: Any) -> str:
    return f"[{key!r}]"


def index_segment(index: int) -> str:
    return f"[{index}]"


SET_ITEM = "{item}"
MAP_KEY = "[<key>]"
TRIGGER_STATE = ".state"


def format_path(segments: Any) -> str:
    """``["['kwargs']", "['conn']"]`` -> ``kwargs['conn']``: top-level names are left bare."""
    parts = list(segments)
    if not parts:
        return "value"
    first = parts[0]
    if first.startswith("['") and first.endswith("']") and first[2:-2].isidentifier():
        parts[0] = first[2:-2]
    return "".join(parts)


def type_name(value: Any) -> str:
    """``socket.socket``, ``_thread.lock``; builtins without their module."""
    cls = type(value)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"
