"""Serializers: task states and run records to bytes and back, for the persistent stores.

``json`` is the default; ``pickle`` is opt-in, for trusted storage only. A ``secret_key`` signs
every record (HMAC-SHA256). Stores use :func:`encode_task` and :func:`decode_task`.
"""

from asyncz_like.serializers.base import SERIALIZERS, BaseSerializer
from asyncz_like.serializers.choice import get_serializer
from asyncz_like.serializers.json import JSONSerializer
from asyncz_like.serializers.pickle import PickleSerializer
from asyncz_like.serializers.signing import SignedSerializer
from asyncz_like.serializers.tasks import decode_task, encode_task, peek_task_id

__all__ = [
    "SERIALIZERS",
    "BaseSerializer",
    "JSONSerializer",
    "PickleSerializer",
    "SignedSerializer",
    "decode_task",
    "encode_task",
    "get_serializer",
    "peek_task_id",
]
