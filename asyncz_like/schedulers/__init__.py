"""Schedulers: the loop that hands due tasks from stores to executors."""

from asyncz_like.schedulers.asyncio import AsyncIOScheduler, NativeAsyncIOScheduler
from asyncz_like.schedulers.base import BaseScheduler, SchedulerState
from asyncz_like.schedulers.blocking import BackgroundScheduler, BlockingScheduler

__all__ = [
    "AsyncIOScheduler",
    "BackgroundScheduler",
    "BaseScheduler",
    "BlockingScheduler",
    "NativeAsyncIOScheduler",
    "SchedulerState",
]
