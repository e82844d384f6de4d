"""The serializer a store uses, from what it was given (an alias or an instance, and a key)."""

from __future__ import annotations

from asyncz_like.serializers.base import SERIALIZERS, BaseSerializer
from asyncz_like.serializers.signing import SignedSerializer

DEFAULT_SERIALIZER = "json"


def get_serializer(
    value: str | BaseSerializer | None = None, secret_key: str | bytes | None = None
) -> BaseSerializer:
    """The serializer a store uses: an alias (``"json"``, the default, or ``"pickle"``) or an
    instance; wrapped in a :class:`~asyncz_like.serializers.signing.SignedSerializer` when a
    ``secret_key`` is given.
    """
    if value is None:
        value = DEFAULT_SERIALIZER
    if isinstance(value, str):
        serializer = SERIALIZERS.create(value)
    elif isinstance(value, BaseSerializer):
        serializer = value
    else:
        raise TypeError(
            "serializer must be an alias ('json', 'pickle') or a BaseSerializer, "
            f"got {type(value).__name__}"
        )
    if secret_key is None:
        return serializer
    if isinstance(serializer, SignedSerializer):
        raise ValueError("serializer is already signed; give secret_key only once")
    return SignedSerializer(serializer, secret_key)
