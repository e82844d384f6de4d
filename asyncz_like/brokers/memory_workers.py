"""The workers known to a broker kept in this process's memory (the memory broker's)."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import datetime

from asyncz_like.brokers.base import WorkerRegistry
from asyncz_like.brokers.records import WorkerInfo


class MemoryWorkerRegistry(WorkerRegistry):
    """Worker records in a dict by id, behind a lock of their own."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._workers: dict[str, WorkerInfo] = {}

    def put(self, info: WorkerInfo) -> None:
        with self._lock:
            self._workers[info.worker_id] = info

    def beat(self, worker_id: str, busy: int, now: datetime) -> bool:
        with self._lock:
            info = self._workers.get(worker_id)
            if info is None:
                return False
            self._workers[worker_id] = replace(info, busy=busy, last_heartbeat=now)
            return True

    def remove(self, worker_id: str) -> bool:
        with self._lock:
            return self._workers.pop(worker_id, None) is not None

    def all(self) -> list[WorkerInfo]:
        with self._lock:
            return list(self._workers.values())

    def forget(self, before: datetime) -> int:
        with self._lock:
            old = [key for key, info in self._workers.items() if info.last_heartbeat < before]
            for key in old:
                del self._workers[key]
            return len(old)
