"""Errors raised by asyncz_like. Every one derives from :class:`AsynczLikeError`."""

from __future__ import annotations

from typing import Any

__all__ = [
    "AsynczException",
    "AsynczLikeError",
    "BrokenRecordError",
    "ConflictIdError",
    "InvalidRunTransitionError",
    "MaximumInstancesError",
    "MissingDependencyError",
    "RunLookupError",
    "RunNotRetryableError",
    "SchedulerAlreadyRunningError",
    "SchedulerNotRunningError",
    "SerializationError",
    "StoreNotFoundError",
    "TaskConfigurationError",
    "TaskLookupError",
    "UnknownAliasError",
]


class AsynczLikeError(Exception):
    """Root of every error this library raises."""


#: asyncz's name for the root error class.
AsynczException = AsynczLikeError


class TaskConfigurationError(AsynczLikeError, ValueError):
    """A task or decorator was configured in a way that cannot work."""


class ConflictIdError(AsynczLikeError, KeyError):
    """A task with the same id already exists and ``replace_existing`` was not given."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"Task identifier {task_id!r} conflicts with an existing task")
        self.task_id = task_id

    def __str__(self) -> str:
        return str(self.args[0])


class TaskLookupError(AsynczLikeError, LookupError):
    """No task with the given id exists."""

    def __init__(self, task_id: str) -> None:
        super().__init__(f"No task by the id of {task_id!r} was found")
        self.task_id = task_id


class MaximumInstancesError(AsynczLikeError):
    """A fire was skipped because the task already runs ``max_instances`` times."""

    def __init__(self, task_id: str, max_instances: int) -> None:
        super().__init__(
            f"Task {task_id!r} has already reached its maximum number of instances "
            f"({max_instances})"
        )
        self.task_id = task_id
        self.max_instances = max_instances


class SchedulerAlreadyRunningError(AsynczLikeError):
    """The operation is not allowed while the scheduler runs."""

    def __init__(self, detail: str = "Scheduler is already running") -> None:
        super().__init__(detail)


class SchedulerNotRunningError(AsynczLikeError):
    """The operation needs a running scheduler."""

    def __init__(self, detail: str = "Scheduler is not running") -> None:
        super().__init__(detail)


class UnknownAliasError(AsynczLikeError, KeyError):
    """No plugin, store or executor is registered under the given alias."""

    def __init__(self, kind: str, alias: Any, known: Any = ()) -> None:
        known_text = ", ".join(sorted(map(str, known)))
        hint = f" (known: {known_text})" if known_text else ""
        super().__init__(f"No {kind} by the alias of {alias!r}{hint}")
        self.kind = kind
        self.alias = alias

    def __str__(self) -> str:
        return str(self.args[0])


class MissingDependencyError(AsynczLikeError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package} is required for this feature: pip install 'asyncz_like[{extra}]'"
        )


class SerializationError(AsynczLikeError, TypeError, ValueError):
    """A value cannot be encoded for storage; the message names its path (``kwargs['conn']``)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.path))


class BrokenRecordError(AsynczLikeError, ValueError):
    """A stored record cannot be decoded (corrupt, tampered, unsigned, or its function is gone).

    ``task_id`` is the record's task id when it could be read, else None. Stores quarantine such
    records: they log and report them and skip them, and never delete them.
    """

    def __init__(self, task_id: str | None, reason: str) -> None:
        what = f"Task record {task_id!r}" if task_id else "A stored record"
        super().__init__(f"{what} cannot be decoded: {reason}")
        self.task_id = task_id
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.task_id, self.reason))


class RunLookupError(AsynczLikeError, LookupError):
    """No run with the given id is known (never submitted, or dropped from the history)."""

    def __init__(self, run_id: str) -> None:
        super().__init__(f"No run by the id of {run_id!r} was found")
        self.run_id = run_id


class RunNotRetryableError(AsynczLikeError, ValueError):
    """A run cannot be retried: it has not ended, it completed, or its call is not kept or
    not importable. ``reason`` says which."""

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(f"{reason} (run {run_id!r})")
        self.run_id = run_id
        self.reason = reason

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.run_id, self.reason))


class InvalidRunTransitionError(AsynczLikeError, ValueError):
    """A run was asked to move to a status it cannot reach from its present one."""

    def __init__(self, run_id: str, old: Any, new: Any) -> None:
        super().__init__(f"Run {run_id!r} cannot go from {old} to {new}")
        self.run_id = run_id
        self.old = old
        self.new = new


class StoreNotFoundError(AsynczLikeError, LookupError):
    """A store (or broker) opened with ``attach`` holds nothing where it points (no file,
    table or directory): nothing was created."""

    def __init__(self, store: str, missing: str) -> None:
        super().__init__(f"{store}: {missing} (nothing was created)")
        self.store = store
        self.missing = missing
