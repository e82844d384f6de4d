"""Tasks: what runs, with what arguments, on which trigger."""

from asyncz_like.tasks.inspection import TaskRunPreview
from asyncz_like.tasks.task import Task, TaskSnapshot

__all__ = ["Task", "TaskRunPreview", "TaskSnapshot"]
