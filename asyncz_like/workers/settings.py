"""A worker's settings: plain values with their defaults stated once, checked where given."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from asyncz_like.brokers.base import DEFAULT_LEASE_SECONDS
from asyncz_like.brokers.records import check_queues
from asyncz_like.limits import check_count, check_timeout, check_wait

DEFAULT_CONCURRENCY = 10
DEFAULT_POLLING_INTERVAL = 5.0
DEFAULT_GRACE_SECONDS = 30.0
DEFAULT_CLEANUP_INTERVAL_HOURS = 1.0
DEFAULT_RETAIN_DAYS = 7.0
#: A worker learns of a cancel request at its next renew: renewing at least this often (while
#: it holds runs) lets a requested cancel stop a run within a second.
MAX_HEARTBEAT_SECONDS = 1.0


@dataclass(slots=True)
class WorkerSettings:
    """What a :class:`~asyncz_like.workers.Worker` claims and how. Each setter checks its
    value and raises TypeError/ValueError naming the argument."""

    queues: tuple[str, ...] = ("default",)
    concurrency: int = DEFAULT_CONCURRENCY
    polling_interval: float = DEFAULT_POLLING_INTERVAL
    lease_seconds: float = DEFAULT_LEASE_SECONDS
    grace_seconds: float = DEFAULT_GRACE_SECONDS
    cleanup_interval_hours: float = DEFAULT_CLEANUP_INTERVAL_HOURS
    retain_days: float = DEFAULT_RETAIN_DAYS

    def set_queues(self, queues: Any) -> None:
        self.queues = tuple(_ordered_queues(queues))

    def set_concurrency(self, concurrency: Any) -> None:
        self.concurrency = check_count(concurrency, "concurrency")

    def set_polling_interval(self, polling_interval: Any) -> None:
        self.polling_interval = check_wait(polling_interval, "polling_interval")

    def set_lease_seconds(self, lease_seconds: Any) -> None:
        self.lease_seconds = check_wait(lease_seconds, "lease_seconds")

    def set_grace_seconds(self, grace_seconds: Any) -> None:
        if grace_seconds is None:
            raise TypeError("grace_seconds must be a number of seconds, got None")
        self.grace_seconds = check_timeout(grace_seconds, "grace_seconds") or 0.0

    def set_cleanup(self, interval_hours: Any, retain_days: Any) -> None:
        self.cleanup_interval_hours = check_wait(interval_hours, "interval_hours")
        self.retain_days = check_wait(retain_days, "retain_days")

    @property
    def heartbeat_seconds(self) -> float:
        """How often the leases held are renewed: a third of the lease, at most a second."""
        return min(self.lease_seconds / 3, MAX_HEARTBEAT_SECONDS)


def _ordered_queues(queues: Any) -> list[str]:
    """The queue names in the order given, each once (checked as a broker checks them)."""
    if isinstance(queues, str):
        queues = [name.strip() for name in queues.split(",") if name.strip()]
    check_queues(list(queues) if isinstance(queues, tuple | set | frozenset) else queues)
    return list(dict.fromkeys(queues))


def make_settings(**values: Any) -> WorkerSettings:
    """Settings from keyword arguments, each checked."""
    settings = WorkerSettings()
    settings.set_queues(values["queues"])
    settings.set_concurrency(values["concurrency"])
    settings.set_polling_interval(values["polling_interval"])
    settings.set_lease_seconds(values["lease_seconds"])
    settings.set_grace_seconds(values["grace_seconds"])
    settings.set_cleanup(values["cleanup_interval_hours"], values["retain_days"])
    return settings
