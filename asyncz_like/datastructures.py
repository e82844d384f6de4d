"""asyncz's ``TaskState``: a task's stored values, read by attribute or by key."""

from __future__ import annotations

from typing import Any

__all__ = ["TaskState"]


class TaskState(dict[str, Any]):
    """The values ``Task.__setstate__`` takes (and ``__getstate__`` gives), as a dict that
    also reads by attribute (``state.id``) as asyncz's model does."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None
