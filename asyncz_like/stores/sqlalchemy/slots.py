"""A SQL store's run slots: rows of ``<tablename>_slots``, one per running instance."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from asyncz_like.stores.sqlalchemy.database import Database
    from asyncz_like.tasks.task import Task

#: Seconds between two purges of expired run slots (see :meth:`SQLRunSlots.purge_expired`).
SLOT_PURGE_INTERVAL = 60.0


class SQLRunSlots:
    """The run slots one store instance takes, with its claims or alone, and gives back."""

    def __init__(self, db: Database, lease_seconds: float) -> None:
        self.db = db
        self.lease_seconds = lease_seconds
        #: Slots taken with the last claim, by task id (None: max_instances were running).
        self.claimed: dict[str, str | None] = {}
        self.next_purge = 0.0  # epoch seconds: the first claim purges

    def acquire_many(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """The slots taken with the last claim for those tasks (no round trip), and the
        others in one transaction."""
        claimed = self.claimed
        tokens: list[str | None] = []
        missing: list[int] = []  # indexes of the tasks without a slot from the claim
        for index, task in enumerate(tasks):
            if task.id in claimed:
                tokens.append(claimed.pop(task.id))
            else:
                tokens.append(None)
                missing.append(index)
        if missing:
            taken = self.take([tasks[index] for index in missing], now)
            for index, token in zip(missing, taken, strict=True):
                tokens[index] = token
        return tokens

    def take(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """A slot for each task (or None), in one transaction."""
        moment = now.timestamp()
        wanted = [slot_wanted(task) for task in tasks]
        taken = self.db.acquire_slots(wanted, moment, moment + self.lease_seconds)
        return [token if token in taken else None for _, _, token in wanted]

    def free_unused(self, slots: list[tuple[str, str | None]]) -> None:
        """Free the slots taken with a claim whose fire was not handed over (paused by a
        broken trigger, or no run time left)."""
        for task_id, _ in slots:
            self.claimed.pop(task_id, None)
        held = [token for _, token in slots if token is not None]
        if held:
            self.release(held)

    def purge_expired(self, moment: float) -> None:
        """Delete the expired run slots of every task, once a minute: a claim expires only
        those of the tasks it takes, and a scheduler that died, or a task deleted while it
        ran, leaves slots that no claim would look at again."""
        if moment >= self.next_purge:
            self.next_purge = moment + SLOT_PURGE_INTERVAL
            self.db.write(self.db.slots.expire_all, now=moment)

    def release(self, tokens: list[str]) -> None:
        if tokens:
            self.db.write(self.db.slots.release_many, tokens=tokens)

    def renew(self, tokens: list[str], now: datetime) -> None:
        if tokens:
            until = now.timestamp() + self.lease_seconds
            self.db.write(self.db.slots.renew, tokens=tokens, until=until)


def slot_wanted(task: Task) -> tuple[str, int, str]:
    """A run slot to take for ``task``: its id, its ``max_instances`` and a new token."""
    return task.id, task.max_instances or 1, uuid.uuid4().hex
