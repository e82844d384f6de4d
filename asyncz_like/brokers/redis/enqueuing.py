"""The arguments of the Redis broker's enqueue script for one run."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from asyncz_like.brokers.codec import encode_work
from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.redis.layout import priority_hex, time_hex
from asyncz_like.serializers.base import BaseSerializer


def row_of(envelope: Envelope, now: datetime, serializer: BaseSerializer) -> list[Any]:
    """The enqueue script's arguments for one run."""
    created = envelope.created_at or now
    return [
        envelope.run_id, envelope.queue, str(envelope.priority),
        priority_hex(envelope.priority), time_hex(envelope.due or created),
        time_hex(created), str(envelope.max_deliveries), envelope.task_id or "",
        envelope.name or "", encode_work(envelope, serializer),
    ]  # fmt: skip
