"""asyncz_like: this repository's scheduler."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from adapters.base import Adapter, Job
from adapters.stores import REDIS_DB, REDIS_HOST, REDIS_PORT, StoreSpec
from asyncz_like import AsyncIOScheduler, BackgroundScheduler
from asyncz_like.executors import ThreadPoolExecutor

_TASK_OPTIONS: dict[str, Any] = {
    "coalesce": True,
    "max_instances": 1,
    "mistrigger_grace_time": None,
}


class AsynczLikeAdapter(Adapter):
    pass_method = "process_tasks"

    @property
    def has_bulk_add(self) -> bool:  # type: ignore[override]
        return hasattr(self.scheduler, "add_tasks")

    def make_async(self, store: str = "memory") -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC, **self._stores(store), **self.options)

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

    def add_date(
        self, fn: Job, run_at: datetime, args: tuple[Any, ...] = (), id: str | None = None
    ) -> None:
        self.scheduler.add_task(fn, "date", run_at=run_at, args=args, id=id, **_TASK_OPTIONS)

    def add_tasks_bulk(self, fn: Job, seconds: float, count: int) -> None:
        # add_tasks takes one dict of add_task arguments per task ("fn" for the function)
        specs = [
            {"fn": fn, "trigger": "interval", "seconds": seconds, **_TASK_OPTIONS}
            for _ in range(count)
        ]
        self.scheduler.add_tasks(specs)

    def preload(self, fn: Job, seconds: float, count: int) -> str:
        """Store ``count`` interval tasks at once, bypassing add_task: one record is encoded
        by the store's serializer, copied with each task's own id, and the rows go in by one
        PostgreSQL ``COPY``. Returns how they were loaded."""
        from asyncz_like.serializers import encode_task

        if self.store_kind != "postgresql":
            raise NotImplementedError("preload: PostgreSQL only")
        template = "cold-" + "X" * 10
        task = self.scheduler.add_task(
            fn, "interval", seconds=seconds, id=template, **_TASK_OPTIONS
        )
        store = self.scheduler.lookup_store("default")
        record = encode_task(task, store.serializer)
        if record.count(template.encode()) != 1:
            raise RuntimeError("preload: the record does not hold its id exactly once")
        next_run_time = task.next_run_time.timestamp()
        raw = store._db.engine.raw_connection()  # bench-only: the store has no bulk hook
        try:
            with raw.cursor() as cursor:
                copy_sql = f"COPY {self.store_name} (id, next_run_time, state) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for index in range(count - 1):
                        task_id = f"cold-{index:010d}"
                        copy.write_row(
                            (
                                task_id,
                                next_run_time,
                                record.replace(template.encode(), task_id.encode()),
                            )
                        )
                cursor.execute(f"ANALYZE {self.store_name}")
            raw.commit()
        finally:
            raw.close()
        probe = store.lookup_task("cold-0000000000")
        if count > 1 and (probe is None or probe.id != "cold-0000000000"):
            raise RuntimeError("preload: a copied record does not decode to its task")
        return "COPY of records encoded by the store's serializer, ids substituted"

    def add_floors(self, fn: Job, count: int) -> dict[str, float]:
        """The floors under an add (``floors.py``), writing records of an added task's size."""
        from floors import add_floors

        if self.store_kind == "memory":
            return {}
        task = self.scheduler.add_task(fn, "interval", seconds=3600.0, **_TASK_OPTIONS)
        store = self.scheduler.lookup_store("default")
        return add_floors(store, store._encode(task), count)

    def persistent_store(self, spec: StoreSpec) -> Any:
        if spec.is_sql:
            return {"type": "sqlalchemy", "database": spec.url, "tablename": spec.table}
        return {
            "type": "redis", "host": REDIS_HOST, "port": REDIS_PORT, "database": REDIS_DB,
            "tasks_key": spec.key("tasks"), "run_times_key": spec.key("run_times"),
        }  # fmt: skip


ADAPTER_CLASS = AsynczLikeAdapter
