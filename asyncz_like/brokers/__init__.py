"""Brokers: where runs wait for workers in any process, leased to one worker at a time.

The contract is :class:`~asyncz_like.brokers.base.BaseBroker` (its docstring states the
promises); plugins by alias in :data:`BROKERS`: ``memory`` (one process, the default),
``sqlalchemy`` (PostgreSQL, MariaDB/MySQL, SQLite), ``redis`` and ``rabbitmq`` (RabbitMQ
wake-ups over a SQL or Redis broker). :func:`make_broker` builds one from an instance, a
``{"type": alias, ...}`` config or a URL.
"""

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS, BaseBroker, WorkerRegistry
from asyncz_like.brokers.memory import MemoryBroker
from asyncz_like.brokers.plugins import BROKERS, make_broker
from asyncz_like.brokers.records import (
    DEFAULT_MAX_DELIVERIES,
    DEFAULT_QUEUE,
    CancelOutcome,
    Delivery,
    Envelope,
    Finish,
    QueueStats,
    Renewal,
    WorkerInfo,
)

__all__ = [
    "BROKERS",
    "DEFAULT_LEASE_SECONDS",
    "DEFAULT_MAX_DELIVERIES",
    "DEFAULT_QUEUE",
    "BaseBroker",
    "CancelOutcome",
    "Delivery",
    "Envelope",
    "Finish",
    "MemoryBroker",
    "QueueStats",
    "Renewal",
    "WorkerInfo",
    "WorkerRegistry",
    "make_broker",
]
