"""The serializer contract, the registry of serializers by alias, and ``get_serializer``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.registry import PluginRegistry

#: The first byte of each built-in format, to say what a record is when it is not what we expect.
_FORMATS = {ord("J"): "json", ord("P"): "pickle", ord("S"): "signed"}


class BaseSerializer(ABC):
    """Turns a state (a dict of plain data, datetimes and triggers) into bytes and back.

    Invariants every serializer keeps:

    * ``loads(dumps(state))`` equals ``state``, for every state it accepts;
    * ``dumps`` raises :class:`~asyncz_like.exceptions.SerializationError` naming the path of a
      value it cannot encode (``kwargs['conn']``), and has no side effects;
    * ``loads`` raises :class:`~asyncz_like.exceptions.BrokenRecordError` for bytes it cannot
      decode or does not trust, and returns a dict otherwise;
    * the bytes should start with a short header naming the format and its version; the
      built-in ones use two bytes (``J1`` json, ``P1`` pickle, ``S1`` signed), see
      :func:`strip_header`.
    """

    @abstractmethod
    def dumps(self, state: dict[str, Any]) -> bytes:
        """Encode ``state``."""

    @abstractmethod
    def loads(self, data: bytes) -> dict[str, Any]:
        """Decode what :meth:`dumps` produced."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


SERIALIZERS: PluginRegistry[BaseSerializer] = PluginRegistry(
    "serializer",
    BaseSerializer,  # type: ignore[type-abstract]  # only used for isinstance checks
    {
        "json": "asyncz_like.serializers.json:JSONSerializer",
        "pickle": "asyncz_like.serializers.pickle:PickleSerializer",
    },
)


def strip_header(data: bytes, header: bytes) -> memoryview:
    """``data`` after its two-byte ``header``; BrokenRecordError saying what it is otherwise."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise BrokenRecordError(None, f"expected bytes, got {type(data).__name__}")
    view = memoryview(data)
    if view[:2] == header:
        return view[2:]
    expected = _FORMATS[header[0]]
    found = _FORMATS.get(view[0]) if len(view) else None
    if found is None:
        reason = f"not a {expected} record (starts with {bytes(view[:8])!r})"
    elif found == expected:
        version = bytes(view[1:2])
        reason = f"unknown {expected} record version {version!r} (from a newer asyncz_like?)"
    elif found == "signed":
        reason = "the record is signed: give the store the secret_key that signed it"
    elif expected == "signed":
        reason = (
            f"the record is not signed ({found}); a store with a secret_key reads only "
            "signed records"
        )
    else:
        reason = f"the record was written by the {found} serializer, this store uses {expected}"
    raise BrokenRecordError(None, reason)
