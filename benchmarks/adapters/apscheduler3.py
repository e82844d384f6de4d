"""APScheduler 3 (``add_job``, ``misfire_grace_time``, ``start_date``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.schedulers.background import BackgroundScheduler

from adapters.base import Adapter, Job
from adapters.stores import REDIS_DB, REDIS_HOST, REDIS_PORT, StoreSpec

_JOB_OPTIONS: dict[str, Any] = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


class APScheduler3Adapter(Adapter):
    pass_method = "_process_jobs"

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
        return {} if config is None else {"jobstores": {"default": config}}

    def add_interval(
        self, fn: Job, seconds: float, start: datetime | None = None, args: tuple[Any, ...] = ()
    ) -> None:
        self.scheduler.add_job(
            fn, "interval", seconds=seconds, start_date=start, args=args, **_JOB_OPTIONS
        )

    def add_date(
        self, fn: Job, run_at: datetime, args: tuple[Any, ...] = (), id: str | None = None
    ) -> None:
        self.scheduler.add_job(fn, "date", run_date=run_at, args=args, id=id, **_JOB_OPTIONS)

    def persistent_store(self, spec: StoreSpec) -> Any:
        if spec.is_sql:
            from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

            return SQLAlchemyJobStore(url=spec.url, tablename=spec.table)
        from apscheduler.jobstores.redis import RedisJobStore

        return RedisJobStore(
            db=REDIS_DB, host=REDIS_HOST, port=REDIS_PORT,
            jobs_key=spec.key("jobs"), run_times_key=spec.key("run_times"),
        )  # fmt: skip


ADAPTER_CLASS = APScheduler3Adapter
