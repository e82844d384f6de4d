"""Events: codes as bit masks and the classes listeners receive."""

from asyncz_like.events import constants as _constants
from asyncz_like.events.base import (
    BrokenRecordEvent,
    RunEvent,
    SchedulerEvent,
    TaskEvent,
    TaskExecutionEvent,
    TaskSubmissionEvent,
)
from asyncz_like.events.constants import *  # noqa: F403

__all__ = [
    *(name for name in dir(_constants) if name.isupper()),
    "BrokenRecordEvent",
    "RunEvent",
    "SchedulerEvent",
    "TaskEvent",
    "TaskExecutionEvent",
    "TaskSubmissionEvent",
]
