"""asyncz's form of ``preview_task_runs``: a task's next run times, the task unchanged.

``preview_task_runs`` has two forms. Ours, ``(trigger, count=5, start=None,
**trigger_args)``, takes a trigger (an instance, a class or an alias such as ``"interval"``,
with its options) and returns the fire times; asyncz's, ``(task_id, store=None, *, count=5,
now=None)``, takes a task id and returns a :class:`TaskRunPreview`. :func:`read_call` tells
them apart from the call alone, never from what the stores hold, so the kind of result does
not depend on which tasks exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from asyncz_like.tasks.inspection import TaskRunPreview
from asyncz_like.tasks.task import Task
from asyncz_like.triggers import TRIGGERS

#: The most run times asyncz's form lists (asyncz's bound: a trigger can be slow to step).
MAX_TASK_PREVIEW = 50
#: ``count`` when the call does not give one.
DEFAULT_COUNT = 5


class _NotGiven:
    def __repr__(self) -> str:
        return "<not given>"


#: The default of ``count``: None is a bad count, not a missing one.
NOT_GIVEN: Any = _NotGiven()


@dataclass(frozen=True, slots=True)
class PreviewCall:
    """A ``preview_task_runs`` call read: of a task (asyncz's form: ``target`` is the task or
    its id, with ``store`` and ``now``) or of a trigger (ours: with ``start``)."""

    of_task: bool
    target: Any
    count: Any
    store: str | None = None
    now: datetime | str | None = None
    start: datetime | None = None


def read_call(
    first: object,
    args: tuple[Any, ...],
    options: Mapping[str, Any],
    trigger_args: Mapping[str, Any],
) -> PreviewCall:
    """Which form a call is, and its arguments. ``options``: the keywords the two forms
    name (``task_id``, ``store``, ``now``, ``start``: None when not given; ``count``:
    :data:`NOT_GIVEN`).

    asyncz's form when ``task_id=``, ``store=`` or ``now=`` is given, the first argument is
    a Task or a text that is no trigger alias, or the second is a text or None (asyncz's
    ``store``). Ours when ``start=`` or a trigger option is given, the first argument is a
    trigger, a trigger class or an alias, or a second is a number (our ``count``). A task
    whose id is also a trigger alias (``"cron"``) is previewed with ``task_id="cron"``.
    TypeError for a call that mixes the two, or gives an argument twice.
    """
    task_id, store, count, now, start = (
        options[name] for name in ("task_id", "store", "count", "now", "start")
    )
    if len(args) > 2:
        raise TypeError(f"preview_task_runs takes at most 3 positional arguments, got {args!r}")
    asyncz_store = len(args) == 1 and (args[0] is None or isinstance(args[0], str))
    task_signs = any(value is not None for value in (task_id, store, now))
    task_signs = task_signs or asyncz_store or isinstance(first, Task)
    trigger_signs = start is not None or bool(trigger_args) or (bool(args) and not asyncz_store)
    if task_signs and trigger_signs:
        raise TypeError(
            "preview_task_runs: task_id, store and now (a task's runs) do not go with start, "
            f"a count given by position or trigger options (a trigger's fires), got {args!r}, "
            f"start={start!r}, options {sorted(trigger_args)}"
        )
    of_task = task_signs or (
        not trigger_signs and isinstance(first, str) and first not in TRIGGERS.aliases()
    )
    if of_task:
        if task_id is not None and first is not None:
            raise TypeError("preview_task_runs: give the task as task_id= or first, not both")
        if args:
            store = _once("store", store, args[0], None)
        count = DEFAULT_COUNT if count is NOT_GIVEN else count
        return PreviewCall(True, first if task_id is None else task_id, count, store, now)
    if args:
        count = _once("count", count, args[0], NOT_GIVEN)
    if len(args) == 2:
        start = _once("start", start, args[1], None)
    count = DEFAULT_COUNT if count is NOT_GIVEN else count
    return PreviewCall(False, first, count, start=start)


def _once(name: str, keyword: Any, positional: Any, absent: Any) -> Any:
    if keyword is not absent:
        raise TypeError(f"preview_task_runs got multiple values for {name}")
    return positional


def check_task_count(count: object) -> int:
    """``count`` when it is an int from 1 to :data:`MAX_TASK_PREVIEW` (asyncz's bound)."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise TypeError(f"count must be an int, got count={count!r}")
    if not 1 <= count <= MAX_TASK_PREVIEW:
        raise ValueError(f"count must be between 1 and {MAX_TASK_PREVIEW}, got count={count!r}")
    return count


def task_run_preview(task: Task, timezone: tzinfo, now: datetime, count: int) -> TaskRunPreview:
    """The next ``count`` run times of ``task``: from its next run time, or for a paused task
    from the trigger's first fire after ``now`` (as asyncz does)."""
    trigger = task.trigger
    times: list[datetime] = []
    following: datetime | None = None
    if trigger is not None:
        following = task.next_run_time or trigger.get_next_trigger_time(timezone, None, now)
        while following is not None and len(times) < count:
            times.append(following)
            following = trigger.get_next_trigger_time(timezone, following, following)
    return TaskRunPreview(
        task=task.snapshot(),
        timezone=str(timezone),
        generated_at=now,
        requested_count=count,
        run_times=tuple(times),
        exhausted=following is None,
    )
