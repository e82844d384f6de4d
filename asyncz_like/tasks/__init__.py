"""Tasks: what runs, with what arguments, on which trigger."""

from asyncz_like.tasks.task import Task, TaskSnapshot

__all__ = ["Task", "TaskSnapshot"]
