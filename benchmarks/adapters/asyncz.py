"""asyncz 0.17 (``add_task``; no BackgroundScheduler: a loop thread of its own instead)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asyncz.executors.pool import ThreadPoolExecutor
from asyncz.schedulers import AsyncIOScheduler

from adapters.base import Adapter, Job
from adapters.stores import REDIS_DB, REDIS_HOST, REDIS_PORT, StoreSpec

_TASK_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "mistrigger_grace_time": None,
}


class AsynczAdapter(Adapter):
    pass_method = "process_tasks"

    def make_async(self, store: str = "memory") -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC, **self._stores(store))

    def make_threaded(self, workers: int, store: str = "memory") -> None:
        # Started outside a running loop, asyncz's AsyncIOScheduler runs a loop in a thread:
        # the nearest thing it has to a BackgroundScheduler.
        self.scheduler = AsyncIOScheduler(
            timezone=UTC,
            isolated_event_loop=True,
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

    def add_date(
        self, fn: Job, run_at: datetime, args: tuple[Any, ...] = (), id: str | None = None
    ) -> None:
        self.scheduler.add_task(fn, "date", run_at=run_at, args=args, id=id, **_TASK_OPTIONS)

    def persistent_store(self, spec: StoreSpec) -> Any:
        if spec.is_sql:
            from asyncz.stores.sqlalchemy import SQLAlchemyStore

            return SQLAlchemyStore(database=spec.url, tablename=spec.table)
        from asyncz.stores.redis import RedisStore

        return RedisStore(
            database=REDIS_DB, host=REDIS_HOST, port=REDIS_PORT,
            tasks_key=spec.key("tasks"), run_times_key=spec.key("run_times"),
        )  # fmt: skip


ADAPTER_CLASS = AsynczAdapter
