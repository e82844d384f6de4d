"""asyncz_like: an in-process job scheduler with the asyncz API."""

from asyncz_like.schedulers import (
    AsyncIOScheduler,
    BackgroundScheduler,
    BlockingScheduler,
    NativeAsyncIOScheduler,
)
from asyncz_like.tasks import Task
from asyncz_like.version import VERSION

#: The version of this package.
__version__ = VERSION

__all__ = [
    "AsyncIOScheduler",
    "BackgroundScheduler",
    "BlockingScheduler",
    "NativeAsyncIOScheduler",
    "Task",
    "__version__",
]
