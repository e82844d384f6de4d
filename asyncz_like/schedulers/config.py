"""Scheduler settings: constructor options and asyncz-style ``setup(global_config, prefix)``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncz_like.limits import check_seconds, check_wait
from asyncz_like.utils import as_positive_int

TASK_DEFAULT_KEYS = ("coalesce", "max_instances", "mistrigger_grace_time")
SCHEDULER_OPTIONS = frozenset(
    {
        "stores",
        "executors",
        "task_defaults",
        "timezone",
        "lock_path",
        "logger_name",
        "identity",
        "loggers_class",
        "clock",
        "max_wait",
        "lock_retry_interval",
        "batch_size",
        "claim_ahead",
        "run_history",
        "max_run_history",
        "run_result_ttl",
        "run_cleanup_interval",
        "record_task_runs",
        "broker",
        "worker",
        "queues",
        "worker_concurrency",
    }
)


@dataclass(slots=True)
class TaskDefaults:
    """What a task gets for the options it does not set."""

    coalesce: bool = True
    max_instances: int = 1
    mistrigger_grace_time: float | None = 1.0

    def model_dump(self) -> dict[str, Any]:
        """The defaults as a dict (asyncz's, a pydantic model, has this method)."""
        return {key: getattr(self, key) for key in TASK_DEFAULT_KEYS}

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> TaskDefaults:
        unknown = set(values) - set(TASK_DEFAULT_KEYS)
        if unknown:
            raise TypeError(f"task_defaults: unknown option(s): {', '.join(sorted(unknown))}")
        defaults = cls()
        if "coalesce" in values:
            defaults.coalesce = as_bool(values["coalesce"], "task_defaults.coalesce")
        if "max_instances" in values:
            defaults.max_instances = as_positive_int(
                values["max_instances"], "task_defaults.max_instances"
            )
        if "mistrigger_grace_time" in values:
            defaults.mistrigger_grace_time = _grace(values["mistrigger_grace_time"])
        return defaults


def _grace(value: Any) -> float | None:
    if value is None:
        return None
    argument = "task_defaults.mistrigger_grace_time"
    return float(check_seconds(_number(value, argument), argument, positive=True))


def wait_option(value: Any, argument: str) -> float:
    """A scheduler option that is a wait (see :func:`~asyncz_like.limits.check_wait`), or
    its text, as ``setup(global_config)`` gives it."""
    return check_wait(_number(value, argument), argument)


def _number(value: Any, argument: str) -> Any:
    """``value``, or the number its text spells (config files give text)."""
    if not isinstance(value, str):
        return value
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{argument}: expected a number, got {value!r}") from None


def as_bool(value: Any, argument: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "yes", "on", "1"):
            return True
        if lowered in ("false", "no", "off", "0"):
            return False
    raise ValueError(f"{argument}: expected a boolean, got {value!r}")


def options_from_global_config(
    global_config: Mapping[str, Any] | None, prefix: str
) -> dict[str, Any]:
    """Collect ``prefix``-ed keys into nested options: ``"asyncz_like.stores.default.type"``
    becomes ``{"stores": {"default": {"type": ...}}}``."""
    options: dict[str, Any] = {}
    for key, value in (global_config or {}).items():
        if not key.startswith(prefix):
            continue
        path = key[len(prefix) :].split(".")
        target = options
        for part in path[:-1]:
            target = target.setdefault(part, {})
            if not isinstance(target, dict):
                raise ValueError(f"Conflicting configuration keys at {key!r}")
        target[path[-1]] = value
    return options


def logger_name(name: str | None) -> str:
    """The scheduler's logger: ``asyncz_like.schedulers``, or a child of it named ``name`` (as
    asyncz's suffix; a name already under it is taken whole)."""
    base = "asyncz_like.schedulers"
    if not name or name == base:
        return base
    return name if name.startswith(f"{base}.") else f"{base}.{name}"


def claim_ahead_option(value: Any) -> float:
    """``claim_ahead``: seconds, from 0 (claim at the run time) to 1; a number or its text
    (as ``setup(global_config)`` gives it)."""
    try:
        seconds = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0 <= seconds <= 1:
        raise ValueError(f"claim_ahead must be a number of seconds from 0 to 1, got {value!r}")
    return seconds
