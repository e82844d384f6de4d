"""The built-in plugins by alias, as ``module:Class`` references (asyncz's ``defaults``).

The registries (``TRIGGERS``, ``EXECUTORS``, ``STORES``) are what the scheduler looks aliases
up in; these mappings name the same classes for code that reads asyncz's tables.
"""

from __future__ import annotations

__all__ = ["executors", "stores", "triggers"]

triggers: dict[str, str] = {
    "date": "asyncz_like.triggers.date:DateTrigger",
    "interval": "asyncz_like.triggers.interval:IntervalTrigger",
    "cron": "asyncz_like.triggers.cron:CronTrigger",
    "and": "asyncz_like.triggers.combining:AndTrigger",
    "or": "asyncz_like.triggers.combining:OrTrigger",
    "shutdown": "asyncz_like.triggers.shutdown:ShutdownTrigger",
}

executors: dict[str, str] = {
    "debug": "asyncz_like.executors.debug:DebugExecutor",
    "pool": "asyncz_like.executors.pool:ThreadPoolExecutor",
    "threadpool": "asyncz_like.executors.pool:ThreadPoolExecutor",
    "processpool": "asyncz_like.executors.process_pool:ProcessPoolExecutor",
    "asyncio": "asyncz_like.executors.asyncio:AsyncIOExecutor",
}

stores: dict[str, str] = {
    "memory": "asyncz_like.stores.memory:MemoryStore",
    "file": "asyncz_like.stores.file:FileStore",
    "redis": "asyncz_like.stores.redis:RedisStore",
    "sqlalchemy": "asyncz_like.stores.sqlalchemy:SQLAlchemyStore",
}
