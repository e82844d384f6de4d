"""The opt-in pickle serializer: any picklable value, for storage only trusted code can write."""

from __future__ import annotations

import pickle
from typing import Any

from asyncz_like.exceptions import BrokenRecordError, SerializationError
from asyncz_like.serializers._paths import (
    SET_ITEM,
    format_path,
    index_segment,
    key_segment,
    type_name,
)
from asyncz_like.serializers.base import BaseSerializer, strip_header

HEADER = b"P1"
PROTOCOL = 5
_HINT = (
    "Store something picklable instead (an id, a name, plain data) and look the object up "
    "inside the task"
)


class PickleSerializer(BaseSerializer):
    """Pickle, protocol 5. Opt-in only: loading a pickle runs whatever code the bytes name, so
    anyone who can write to the store can run code in the scheduler. Use it only with storage
    that only trusted code can write, and preferably with a ``secret_key`` (signed records).
    """

    def dumps(self, state: dict[str, Any]) -> bytes:
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict, got {type(state).__name__}")
        try:
            return HEADER + pickle.dumps(state, protocol=PROTOCOL)
        except Exception as exc:  # pickling raises TypeError, PicklingError, AttributeError...
            raise _explain(state, exc) from None

    def loads(self, data: bytes) -> dict[str, Any]:
        body = strip_header(data, HEADER)
        try:
            state = pickle.loads(body)
        except Exception as exc:
            raise BrokenRecordError(None, f"invalid pickle record: {exc!r}") from exc
        if not isinstance(state, dict):
            raise BrokenRecordError(None, f"expected a pickled dict, got {type(state).__name__}")
        return state


def _explain(state: dict[str, Any], exc: Exception) -> SerializationError:
    segments, culprit = _find_culprit(state, [])
    path = format_path(segments)
    return SerializationError(
        f"{path}: cannot pickle object of type {type_name(culprit)} ({exc}). {_HINT}", path
    )


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value, protocol=PROTOCOL)
    except Exception:
        return False
    return True


def _children(value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [(key_segment(key), item) for key, item in value.items()]
    if isinstance(value, list | tuple):
        return [(index_segment(index), item) for index, item in enumerate(value)]
    if isinstance(value, set | frozenset):
        return [(SET_ITEM, item) for item in value]
    return []


def _find_culprit(value: Any, segments: list[str]) -> tuple[list[str], Any]:
    """The path to the innermost value that does not pickle (only called after a failure)."""
    for segment, child in _children(value):
        if not _picklable(child):
            return _find_culprit(child, [*segments, segment])
    return segments, value
