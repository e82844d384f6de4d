"""Stores: where tasks are kept between fires."""

from asyncz_like.registry import PluginRegistry
from asyncz_like.stores.base import BaseStore

STORES: PluginRegistry[BaseStore] = PluginRegistry(
    "store",
    BaseStore,  # type: ignore[type-abstract]  # the registry holds subclasses of the ABC
    {
        "memory": "asyncz_like.stores.memory:MemoryStore",
        "file": "asyncz_like.stores.file:FileStore",
        "sqlalchemy": "asyncz_like.stores.sqlalchemy:SQLAlchemyStore",
        "redis": "asyncz_like.stores.redis:RedisStore",
    },
)

__all__ = ["STORES", "BaseStore"]
