"""The task objects of a memory store that something outside it still holds."""

from __future__ import annotations

from functools import partial
from weakref import ref

from asyncz_like.tasks.task import Task


class HeldTasks(dict[str, "ref[Task] | _Pinned"]):
    """Weak references, by id, to the Task objects a memory store was given.

    The store keeps rows, not objects; this keeps what users of APScheduler's and asyncz's
    memory stores rely on: the object ``add_task`` returned is the one the store hands to a
    fire and updates, for as long as anybody holds it. Objects the store builds for reads
    are not kept track of: a read of 100k tasks would make 100k references, and the
    collector's passes over them cost twice the reads themselves.

    A reference removes itself when its task dies, through a callback that calls no Python
    code (``dict.pop``), so that a task added and dropped costs the collector nothing: a dead
    reference left for a later sweep would live long enough to reach the oldest generation
    and make its full passes come often. A reference replaced or popped dies first, and then
    never calls back. An object of a subclass of Task is held strongly: a row would give it
    back as a plain Task.
    """

    __slots__ = ()

    def held(self, task_id: str) -> Task | None:
        """The object of ``task_id`` that something still holds, if any."""
        reference = self.get(task_id)
        return None if reference is None else reference()

    def keep(self, task: Task) -> None:
        """Hand ``task`` out for its id from now on, while it is held."""
        task_id = task.id
        if task.__class__ is Task:
            self[task_id] = ref(task, partial(self.pop, task_id))
        else:
            self[task_id] = _Pinned(task)


class _Pinned:
    """A strong reference, called as a weak one is."""

    __slots__ = ("task",)

    def __init__(self, task: Task) -> None:
        self.task = task

    def __call__(self) -> Task:
        return self.task
