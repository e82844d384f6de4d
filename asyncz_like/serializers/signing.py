"""Signed records: HMAC-SHA256 over another serializer's bytes, checked before decoding."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.serializers.base import BaseSerializer, strip_header

HEADER = b"S1"
DIGEST_SIZE = hashlib.sha256().digest_size


class SignedSerializer(BaseSerializer):
    """Wraps ``serializer`` so that each record is ``S1 || HMAC-SHA256(key, S1 || inner) || inner``.

    ``loads`` checks the signature (in constant time) before the inner serializer sees a byte,
    so a tampered record, an unsigned one or one signed with another key raises
    BrokenRecordError and is never decoded, let alone run.
    """

    def __init__(self, serializer: BaseSerializer, secret_key: str | bytes) -> None:
        if not isinstance(serializer, BaseSerializer):
            raise TypeError(f"serializer must be a BaseSerializer, got {type(serializer).__name__}")
        self.serializer = serializer
        self._key = _as_key(secret_key)

    def dumps(self, state: dict[str, Any]) -> bytes:
        inner = self.serializer.dumps(state)
        return HEADER + self._sign(inner) + inner

    def loads(self, data: bytes) -> dict[str, Any]:
        body = strip_header(data, HEADER)
        signature, inner = body[:DIGEST_SIZE], body[DIGEST_SIZE:]
        if len(signature) < DIGEST_SIZE or not hmac.compare_digest(signature, self._sign(inner)):
            raise BrokenRecordError(
                None, "bad signature: the record was changed or signed with another secret_key"
            )
        return self.serializer.loads(bytes(inner))

    def _sign(self, inner: bytes | memoryview) -> bytes:
        mac = hmac.new(self._key, HEADER, hashlib.sha256)
        mac.update(inner)
        return mac.digest()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.serializer!r}, secret_key=...)"


def _as_key(secret_key: str | bytes) -> bytes:
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("utf-8")
    if not isinstance(secret_key, bytes):
        raise TypeError(f"secret_key must be str or bytes, got {type(secret_key).__name__}")
    if not secret_key:
        raise ValueError("secret_key must not be empty")
    return secret_key
