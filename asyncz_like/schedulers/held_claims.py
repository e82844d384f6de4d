"""Claims a scheduler holds beyond the pass that took them, and their heartbeat.

Most claims live from claim to release within one pass. Two kinds outlive it: a fire handed
over and not yet started, released once it has (its run time has come and its executor took it
up: a fire claimed ahead of its run time, or one that waits for a free worker past it), and a
due fire that a run slot of a shared store refused, held while the scheduler tries the slot
again (the slot may be one that a scheduler killed, or cut off from the store, could not
free: it lapses within the store's ``lease_seconds``). The scheduler's passes renew such
claims every third of the lease (:class:`ClaimHeartbeat`), so that they last as long as their
scheduler does and lapse within ``lease_seconds`` of its death.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from asyncz_like.executors.ahead import AheadRunTimes
from asyncz_like.schedulers.fire_times import coalesced, due_run_times

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import tzinfo

    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")

#: How soon a due fire refused for a run slot of a shared store is tried again.
SLOT_RETRY = timedelta(seconds=0.25)

#: How soon a pass looks again whether a worker took up a fire that waits for one past its
#: run time (its release is written then). Each pass claims in the stores too:
#: a pool kept full for minutes costs 10 passes a second, not one every half ``claim_ahead``.
TAKE_UP_RECHECK = timedelta(seconds=0.1)

Release = tuple["Task", "datetime | None"]


@dataclass(slots=True)
class SlotWait:
    """A due fire whose run slot was refused, held under its claim until ``until`` (the end
    of the lease of a slot taken at its run time): handed over once a slot is free, skipped
    as ``max_instances`` when none is by then."""

    store: BaseStore
    alias: str
    fire: tuple[Task, list[datetime]]  # what goes to the executor
    release: Release  # what is written once it has gone, or been skipped
    until: datetime
    merged: int = 0  # the run times coalescing left out of ``fire``


class Deferred(NamedTuple):
    """A release held back until its fire starts: its run time has come and its executor
    took it up (``fire``, see ``executors.ahead``)."""

    starts: datetime
    write_by: datetime  # the time a pass must write it by
    store: BaseStore
    alias: str
    release: Release
    fire: AheadRunTimes


def taken_up(due: list[Deferred]) -> tuple[list[Deferred], list[Deferred]]:
    """``due`` split: the fires their executors took up, and those still waiting for a
    worker, whose releases stay held (a scheduler killed meanwhile loses none of them)."""
    started: list[Deferred] = []
    waiting: list[Deferred] = []
    for entry in due:
        (started if entry.fire.taken_up() else waiting).append(entry)
    return started, waiting


def hold_for_slots(
    store: BaseStore,
    alias: str,
    to_send: list[tuple[Task, list[datetime]]],
    releases: list[Release],
    waits: dict[str, datetime],
    merged: dict[str, int] | None,
) -> tuple[list[SlotWait], list[Release]]:
    """The due fires in ``waits``, to be held under their claims and tried again, and the
    releases of the others. ``merged``: by task id, the run times coalescing left out."""
    fires = {fire[0].id: fire for fire in to_send}
    held: list[SlotWait] = []
    kept: list[Release] = []
    for release in releases:
        task_id = release[0].id
        if task_id in waits:
            left_out = merged.get(task_id, 0) if merged else 0
            held.append(SlotWait(store, alias, fires[task_id], release, waits[task_id], left_out))
        else:
            kept.append(release)
    return held, kept


def split_held(
    held: list[tuple[Release, AheadRunTimes]],
    not_sent: Collection[str],
    now: datetime,
    store: BaseStore,
    alias: str,
) -> tuple[list[Release], list[Deferred]]:
    """The due fires of a pass just handed over, split: the releases to write now (taken
    up, as a rule at the hand-over; or ``not_sent``, by task id, to wait for a run slot),
    and the others, held (``write_by`` now: rechecked until a worker takes them up)."""
    releases: list[Release] = []
    waiting: list[Deferred] = []
    for release, fire in held:
        if fire.taken_up() or release[0].id in not_sent:
            releases.append(release)
        else:
            waiting.append(Deferred(fire[-1], now, store, alias, release, fire))
    return releases, waiting


def held_claims(
    deferred: list[Deferred], waits: list[SlotWait]
) -> dict[int, tuple[BaseStore, list[str]]]:
    """The task ids of the claims held beyond their pass (``deferred``, ``waits``), by store."""
    held: dict[int, tuple[BaseStore, list[str]]] = {}
    entries = [(entry.store, entry.release[0].id) for entry in deferred]
    entries.extend((wait.store, wait.release[0].id) for wait in waits)
    for store, task_id in entries:
        held.setdefault(id(store), (store, []))[1].append(task_id)
    return held


def catch_up(wait: SlotWait, timezone: tzinfo, now: datetime) -> None:
    """Add to a fire waiting for a run slot the run times that came due while it waited (its
    claim held them back), so that they go with it, as a claim made now would send them;
    as ``AheadRunTimes``, so that its release waits for a worker to take it up."""
    task = wait.release[0]
    try:
        run_times, next_time = due_run_times(task, timezone, now)
    except Exception:  # the trigger broke meanwhile: the fire goes as it was claimed
        run_times = []
    if run_times:
        due = len(run_times)
        if task.coalesce and due > 1:
            run_times = coalesced(run_times, now)
        wait.fire, wait.release = (wait.fire[0], AheadRunTimes(run_times)), (task, next_time)
        wait.merged = due - len(run_times)
    elif wait.fire[1].__class__ is not AheadRunTimes:
        wait.fire = (wait.fire[0], AheadRunTimes(wait.fire[1]))


def handed_over(
    waits: list[SlotWait], still: Collection[str], now: datetime
) -> tuple[list[Release], list[Deferred]]:
    """Of the fires ``waits`` tried again, those that no longer wait (not in ``still``): the
    releases of those taken up (or skipped), and those queued for a worker, held."""
    releases: list[Release] = []
    held: list[Deferred] = []
    for wait in waits:
        fire = wait.fire[1]
        if wait.fire[0].id in still:
            continue
        if fire.__class__ is not AheadRunTimes or fire.taken_up():
            releases.append(wait.release)
        else:
            held.append(Deferred(fire[-1], now, wait.store, wait.alias, wait.release, fire))
    return releases, held


class ClaimHeartbeat:
    """Renews, in each store, the claims held beyond their pass, every third of its lease."""

    def __init__(self) -> None:
        #: By store: when its held claims were last renewed (or the first taken, since).
        self._renewed: dict[int, datetime] = {}

    def taken(self, store: BaseStore, now: datetime) -> None:
        """A claim of ``store`` is held beyond its pass from ``now``."""
        self._renewed.setdefault(id(store), now)

    def beat(self, held: dict[int, tuple[BaseStore, list[str]]], now: datetime) -> None:
        """Renew the claims ``held`` (task ids by store) whose store's turn has come. A store
        that fails is tried again at the next pass: its server may be away for a while."""
        for key in [key for key in self._renewed if key not in held]:
            del self._renewed[key]  # nothing held there any more
        for key, (store, task_ids) in held.items():
            last = self._renewed.setdefault(key, now)
            if now - last < timedelta(seconds=store.lease_seconds / 3):
                continue
            try:
                store.renew_claims(task_ids, now)
            except Exception as exc:
                logger.warning(
                    "Could not renew %d claim(s) in store %s (%r)", len(task_ids), store.alias, exc
                )
                continue
            self._renewed[key] = now


def not_pending(tasks: list[Task], pending: dict[tuple[str, datetime | None], bool]) -> list[Task]:
    """``tasks`` less those whose fire is ``pending`` (see :func:`pending_fires`), each
    logged: at DEBUG when it waits for a worker (no news), else as a warning."""
    kept: list[Task] = []
    for task in tasks:
        waits_for_worker = pending.get((task.id, task.next_run_time))
        if waits_for_worker is not None:
            (logger.debug if waits_for_worker else logger.warning)(
                "Task %s (%s): its fire of %s was handed over already and is not "
                "released yet; it is not run again",
                task.id,
                task.name,
                task.next_run_time,
                extra={"task_id": task.id},
            )
        else:
            kept.append(task)
    return kept


def pending_fires(
    store: BaseStore, deferred: list[Deferred], releases: list[Release], waits: list[SlotWait]
) -> dict[tuple[str, datetime | None], bool]:
    """(task id, claimed run time) of the fires of ``store`` this scheduler holds, handed
    over (held back in ``deferred``, or ``releases`` that failed) or waiting for a slot,
    whose release is not written yet; True for those that wait for a worker past their run
    time (a store hands such a claim out again, once older than ``RETAKE_OWN_CLAIMS_AFTER``,
    as a rule: that is no news)."""
    pending = {(task.id, task.next_run_time): False for task, _ in releases}
    for wait in waits:
        if wait.store is store:
            pending[wait.release[0].id, wait.release[0].next_run_time] = False
    for entry in deferred:
        task = entry.release[0]
        pending[task.id, task.next_run_time] = not entry.fire.taken_up()
    return pending
