"""Schedulers: the loop that hands due tasks from stores to executors."""

from asyncz_like.schedulers.asyncio import AsyncIOScheduler, NativeAsyncIOScheduler
from asyncz_like.schedulers.base import BaseScheduler, SchedulerState
from asyncz_like.schedulers.blocking import BackgroundScheduler, BlockingScheduler
from asyncz_like.schedulers.inspection import SchedulerInfo, SchedulerInstanceInfo

__all__ = [
    "AsyncIOScheduler",
    "BackgroundScheduler",
    "BaseScheduler",
    "BlockingScheduler",
    "NativeAsyncIOScheduler",
    "SchedulerInfo",
    "SchedulerInstanceInfo",
    "SchedulerState",
]
