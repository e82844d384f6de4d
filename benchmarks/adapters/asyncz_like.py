"""asyncz_like: this repository's scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.base import Adapter, Job
from asyncz_like import AsyncIOScheduler, BackgroundScheduler
from asyncz_like.executors import ThreadPoolExecutor

_TASK_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "mistrigger_grace_time": None,
}


class AsynczLikeAdapter(Adapter):
    pass_method = "process_tasks"

    def make_async(self, store: str = "memory") -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC, **self._stores(store))

    def make_threaded(self, workers: int, store: str = "memory") -> None:
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(max_workers=workers)},
            **self._stores(store),
        )

    def _stores(self, store: str) -> dict[str, Any]:
        config = self.store_config(store)
        return {} if config is None else {"stores": {"default": config}}

    def add_interval(
        self, fn: Job, seconds: float, start: datetime | None = None, args: tuple[Any, ...] = ()
    ) -> None:
        self.scheduler.add_task(
            fn, "interval", seconds=seconds, start_at=start, args=args, **_TASK_OPTIONS
        )

    def add_date(self, fn: Job, run_at: datetime) -> None:
        self.scheduler.add_task(fn, "date", run_at=run_at, **_TASK_OPTIONS)


ADAPTER_CLASS = AsynczLikeAdapter
