"""Executors: where a task's function actually runs."""

from asyncz_like.executors.asyncio import AsyncIOExecutor
from asyncz_like.executors.base import BaseExecutor
from asyncz_like.executors.debug import DebugExecutor
from asyncz_like.executors.pool import ProcessPoolExecutor, ThreadPoolExecutor
from asyncz_like.registry import PluginRegistry

EXECUTORS: PluginRegistry[BaseExecutor] = PluginRegistry(
    "executor",
    BaseExecutor,  # type: ignore[type-abstract]  # the registry holds subclasses of the ABC
    {
        "asyncio": AsyncIOExecutor,
        "threadpool": ThreadPoolExecutor,
        "pool": ThreadPoolExecutor,
        "processpool": ProcessPoolExecutor,
        "debug": DebugExecutor,
    },
)

__all__ = [
    "EXECUTORS",
    "AsyncIOExecutor",
    "BaseExecutor",
    "DebugExecutor",
    "ProcessPoolExecutor",
    "ThreadPoolExecutor",
]
