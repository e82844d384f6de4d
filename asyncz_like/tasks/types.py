"""asyncz's name for the task type that stores, executors and plugins are written against."""

from asyncz_like.tasks.task import Task

#: What asyncz's plugin signatures call a task: here the one ``Task`` class.
TaskType = Task

__all__ = ["TaskType"]
