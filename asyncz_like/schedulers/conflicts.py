"""What adding a task does when its id is taken: the conflict policy.

Apps add their tasks at every start. With a persistent store the task is there already, and
a deploy must not move its schedule (an app deployed more often than a task's interval would
never run it), nor add it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from asyncz_like.exceptions import ConflictIdError

if TYPE_CHECKING:
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

#: ``"fail"``: ConflictIdError. ``"keep"``: the stored task stays as it is. ``"update"``: an
#: unchanged definition keeps the stored task and its schedule, a changed trigger replaces it
#: with a new schedule, other changed options are written and the schedule kept.
#: ``"replace"``: the new definition with a new schedule, always.
ConflictPolicy = Literal["fail", "keep", "update", "replace"]
CONFLICT_POLICIES: tuple[ConflictPolicy, ...] = get_args(ConflictPolicy)


def conflict_policy(on_conflict: Any, replace_existing: bool) -> ConflictPolicy:
    """The policy asked for: ``on_conflict`` when given, else ``"update"`` with
    ``replace_existing`` and ``"fail"`` without. ValueError names a bad ``on_conflict``."""
    if on_conflict is None:
        return "update" if replace_existing else "fail"
    if on_conflict not in CONFLICT_POLICIES:
        raise ValueError(
            f"on_conflict must be one of {', '.join(map(repr, CONFLICT_POLICIES))}, "
            f"got {on_conflict!r}"
        )
    policy: ConflictPolicy = on_conflict
    return policy


@dataclass(frozen=True, slots=True)
class Stored:
    """What storing a task did: ``"added"``, ``"kept"`` (nothing written), ``"updated"``
    or ``"replaced"``; ``changed`` names what differed from the stored task."""

    outcome: Literal["added", "kept", "updated", "replaced"]
    changed: frozenset[str] = frozenset()


ADDED = Stored("added")


def store_task(store: BaseStore, task: Task, policy: ConflictPolicy) -> Stored:
    """Write ``task`` to ``store``; a stored task with its id is handled by ``policy``.

    A kept or updated task takes the stored one's next run time (and interval anchor), so
    the object the caller holds shows the schedule that is in force.
    """
    try:
        store.add_task(task)
        return ADDED
    except ConflictIdError:
        if policy == "fail":
            raise
    stored = store.lookup_task(task.id)
    if stored is None:  # removed meanwhile (or a broken record: add_task refuses it again)
        store.add_task(task)
        return ADDED
    changed = task.changes_from(stored)
    if policy == "replace":
        store.update_task(task)
        return Stored("replaced", changed)
    if policy == "keep" or not changed:
        task.adopt_schedule(stored)
        return Stored("kept", changed)
    if "trigger" not in changed:
        task.adopt_schedule(stored)
    store.update_task(task)
    return Stored("updated", changed)
