"""One pass of the scheduler loop: claim due tasks, hand them to executors, move them on."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from asyncz_like.events.base import TaskEvent
from asyncz_like.events.constants import TASK_REMOVED
from asyncz_like.executors.ahead import AheadRunTimes
from asyncz_like.schedulers.fire_times import coalesced, due_run_times, recovered
from asyncz_like.schedulers.hand_over import HandOver, PassHost
from asyncz_like.schedulers.held_claims import (
    SLOT_RETRY,
    TAKE_UP_RECHECK,
    ClaimHeartbeat,
    Deferred,
    Release,
    SlotWait,
    catch_up,
    handed_over,
    held_claims,
    hold_for_slots,
    not_pending,
    pending_fires,
    split_held,
    taken_up,
)

if TYPE_CHECKING:
    from asyncz_like.schedulers.plugins import Plugins
    from asyncz_like.stores.base import BaseStore
    from asyncz_like.tasks.task import Task

logger = logging.getLogger("asyncz_like.schedulers")


@dataclass(slots=True)
class PassResult:
    """What a pass found: whether more is due now, which stores another process holds, when
    a pass is due for a release held back until its fire starts, and when for a fire
    that ``max_instances`` refused, to try it again (None: none is)."""

    more: bool
    locked_out: list[str]
    deferred_until: datetime | None = None
    retry_at: datetime | None = None


class DueTaskProcessor:
    """Processes the due tasks of a scheduler's stores in slices of ``batch_size``.

    Per slice: one claim, the fires handed to the executors (with one acquisition of run
    slots for a shared store), then one release of the whole slice. A fire is handed over
    before its release is written, so a scheduler killed in between makes that fire run again
    elsewhere, never go missing; from a store that does I/O, a fire that waits for a worker
    keeps its claim until a worker takes it up (``executors.ahead``).
    """

    def __init__(self, scheduler: PassHost, plugins: Plugins) -> None:
        self.scheduler = scheduler
        self.plugins = plugins
        self.hand_over = HandOver(scheduler)
        #: Releases that failed (the store's server was away): their fires were handed over,
        #: so they are written before anything else, lest the lease make them wait.
        self._unreleased: list[tuple[BaseStore, str, list[Release]]] = []
        #: Releases of fires claimed ahead, or due and waiting for a worker, by start time:
        #: the lease holds each fire in the store until it starts, so that a scheduler killed
        #: before then loses nothing.
        self._deferred: list[Deferred] = []
        self._deferred_lock = threading.Lock()
        #: Due fires a run slot refused, held under their claims while tried again.
        self._slot_waits: list[SlotWait] = []
        self._heartbeat = ClaimHeartbeat()

    def process(self, now: datetime, budget: int, horizon: datetime | None = None) -> PassResult:
        """Dispatch up to ``budget`` due tasks of the stores whose lock this process gets:
        the fires due by ``horizon`` (default: ``now``; later for a claim ahead)."""
        if self._unreleased:
            self._retry_releases()
        if self._deferred:
            self.write_deferred(now)
        retry_at: datetime | None = None
        if self._slot_waits:
            self._retry_slot_waits(now)
        if self._deferred or self._slot_waits:
            with self._deferred_lock:
                deferred = list(self._deferred)
            self._heartbeat.beat(held_claims(deferred, self._slot_waits), now)
            if self._slot_waits:
                retry_at = now + SLOT_RETRY
        horizon = now if horizon is None else horizon
        locked_out: list[str] = []
        more = False
        for alias, store in self.plugins.store_items:
            if budget <= 0:
                more = True
                break
            with self.plugins.store_guard(store), store.lock.protected(False) as got_lock:
                if not got_lock:
                    locked_out.append(alias)
                    continue
                if store.shares_run_slots:  # runs that ended count as ended in the claim
                    self.scheduler.run_slots.flush(store)
                tasks = store.acquire_due_tasks(horizon, budget)
                if tasks:
                    lost = store.take_lost_claims()
                    retry = self._dispatch(store, alias, tasks, now, horizon, lost)
                    if retry is not None and (retry_at is None or retry < retry_at):
                        retry_at = retry
            budget -= len(tasks)
        more = more or budget <= 0
        deferred_until: datetime | None = None
        if self._deferred:  # as a rule empty: no lock to take then
            deferred_until = self._next_release(now)
        return PassResult(more, locked_out, deferred_until, retry_at)

    def _next_release(self, now: datetime) -> datetime | None:
        """When a pass is due to write a held-back release: the earliest ``write_by`` to
        come, or in ``TAKE_UP_RECHECK`` when a fire waits for a worker past it."""
        recheck = now + TAKE_UP_RECHECK
        with self._deferred_lock:
            return min(
                (e.write_by if e.write_by > now else recheck for e in self._deferred), default=None
            )

    def _dispatch(
        self,
        store: BaseStore,
        store_alias: str,
        tasks: list[Task],
        now: datetime,
        horizon: datetime,
        lost_claims: dict[str, datetime] | None,
    ) -> datetime | None:
        """Hand the claimed ``tasks`` over and release them (a fire claimed ahead, or one
        that waits for a worker: once it starts). Returns when to try again the fires
        ``max_instances`` refused ahead."""
        if self._deferred or self._unreleased or self._slot_waits:
            tasks = self._not_yet_handed_over(store, tasks)
        timezone = self.scheduler.timezone
        ahead = horizon - now
        # A due fire from a store that outlives this process is held too, unless its executor
        # takes it up at once (as a rule: see executors.ahead): a kill then loses none.
        hold_due = store.does_io
        releases: list[Release] = []
        deferred: list[Deferred] = []
        held: list[tuple[Release, AheadRunTimes]] = []  # due: released now once taken up
        to_send: list[tuple[Task, list[datetime]]] = []
        final: set[str] = set()  # ids of the tasks whose last fire this is
        # By task id, the run times coalescing left out; a dict only then (each pass: 0.1 %)
        merged: dict[str, int] | None = None
        for task in tasks:
            lost_at = lost_claims.get(task.id) if lost_claims else None
            try:
                # Written out here, not in a helper: a call less per fired task (a pass's loop)
                run_times, next_time = due_run_times(task, timezone, horizon)
                if task.coalesce and len(run_times) > 1:
                    due = len(run_times)
                    run_times = coalesced(run_times, now)
                    if merged is None:
                        merged = {}
                    merged[task.id] = due - len(run_times)
                sent = task if lost_at is None or not run_times else recovered(task, lost_at, now)
                write_by: datetime | None = None
                if run_times and (starts := run_times[-1]) > now:  # claimed ahead
                    # released by the pass that claims its next fire ahead, or at its start
                    write_by = starts if next_time is None else max(starts, next_time - ahead)
            except Exception as exc:  # a broken trigger, or any error with this one task:
                self.hand_over.pause_broken(store, store_alias, task, exc)  # the others still fire
                continue
            if run_times:
                if next_time is None:
                    final.add(task.id)
                if write_by is not None:  # released once it starts
                    fire = AheadRunTimes(run_times)
                    to_send.append((sent, fire))
                    release = (task, next_time)
                    deferred.append(Deferred(fire[-1], write_by, store, store_alias, release, fire))
                    continue
                if hold_due:
                    fire = AheadRunTimes(run_times)
                    to_send.append((sent, fire))
                    held.append(((task, next_time), fire))
                    continue
                to_send.append((sent, run_times))
            releases.append((task, next_time))
        waits: dict[str, datetime] = {}  # due fires a run slot refused: until when they wait
        put_back = (
            self.hand_over.send(
                store, store_alias, to_send, now, final, waits, bool(deferred or held), merged
            )
            if to_send
            else None
        )
        if held:  # those queued behind busy workers stay held (those in waits: for slots)
            started, waiting = split_held(held, waits, now, store, store_alias)
            releases.extend(started)
            deferred.extend(waiting)
        retry_at: datetime | None = None
        if waits:  # held under their claims, tried again at the next passes
            slot_waits, releases = hold_for_slots(
                store, store_alias, to_send, releases, waits, merged
            )
            self._slot_waits.extend(slot_waits)
            self._heartbeat.taken(store, now)
            retry_at = now + SLOT_RETRY
        if put_back:  # refused before their run time: given back unrun, to be tried again
            kept: list[Deferred] = []
            for entry in deferred:
                starts, task = entry.starts, entry.release[0]
                if task.id in put_back:
                    releases.append((task, task.next_run_time))
                    retry_at = starts if retry_at is None else min(retry_at, starts)
                else:
                    kept.append(entry)
            deferred = kept
        if deferred:
            self._heartbeat.taken(store, now)
            self._hold(deferred)
        if releases:
            try:
                self._release(store, store_alias, releases)
            except Exception:
                self._unreleased.append((store, store_alias, releases))
                raise
        return retry_at

    def _hold(self, deferred: list[Deferred]) -> None:
        with self._deferred_lock:
            self._deferred.extend(deferred)
            self._deferred.sort(key=lambda entry: entry.starts)

    def _not_yet_handed_over(self, store: BaseStore, tasks: list[Task]) -> list[Task]:
        """``tasks`` less the fires this scheduler handed over already and has not released
        yet (held back, or a release that failed): a store may hand such a claim out again
        (its own lease, see ``RETAKE_OWN_CLAIMS_AFTER``). The fire has started, or will: its
        release is written as planned, and it is never handed over a second time."""
        with self._deferred_lock:
            deferred = [entry for entry in self._deferred if entry.store is store]
        releases = [
            release for held, _, failed in self._unreleased if held is store for release in failed
        ]
        return not_pending(tasks, pending_fires(store, deferred, releases, self._slot_waits))

    def _retry_slot_waits(self, now: datetime) -> None:
        """Try again the fires waiting for a run slot: hand over those that get one, skip
        those whose wait is over, and release both (a fire handed over that waits for a
        worker: once it starts); the others wait on."""
        waits, self._slot_waits = self._slot_waits, []
        by_store: dict[int, list[SlotWait]] = {}
        for wait in waits:
            by_store.setdefault(id(wait.store), []).append(wait)
        for entries in by_store.values():
            store, alias = entries[0].store, entries[0].alias
            for wait in entries:
                catch_up(wait, self.scheduler.timezone, now)
            still: dict[str, datetime] = {}
            fires = [wait.fire for wait in entries]
            try:
                with self.plugins.store_guard(store):
                    merged = {wait.fire[0].id: wait.merged for wait in entries if wait.merged}
                    self.hand_over.send(store, alias, fires, now, set(), still, True, merged)
            except Exception:
                self._slot_waits.extend(entries)  # the server is away: they wait on
                raise
            self._slot_waits.extend(wait for wait in entries if wait.fire[0].id in still)
            releases, deferred = handed_over(entries, still, now)
            if deferred:  # queued behind busy workers: held until taken up
                self._hold(deferred)
            if releases:
                self._write(store, alias, releases)

    def _write(self, store: BaseStore, alias: str, releases: list[Release]) -> None:
        """``_release``; when it fails, kept to be written first by the next pass."""
        try:
            with self.plugins.store_guard(store):
                self._release(store, alias, releases)
        except Exception:
            self._unreleased.append((store, alias, releases))
            raise

    def write_deferred(self, now: datetime | None = None) -> None:
        """Write the held-back releases whose fires have started by ``now`` (None: all of
        them, at shutdown, and the fires waiting for a run slot given back unrun), one write
        per store; those that fail are retried first. A fire whose run time has come but
        that waits for a free worker of its executor stays held (see ``executors.ahead``)."""
        with self._deferred_lock:
            count = len(self._deferred)
            if now is not None:
                count = next((i for i, e in enumerate(self._deferred) if e.starts > now), count)
            due, self._deferred[:count] = self._deferred[:count], []
            if now is not None:  # those no worker has taken up yet stay held, first
                due, waiting = taken_up(due)
                self._deferred[:0] = waiting
        by_store: dict[int, tuple[BaseStore, str, list[Release]]] = {}
        for _, _, store, alias, release, _ in due:
            by_store.setdefault(id(store), (store, alias, []))[2].append(release)
        if now is None:
            waits, self._slot_waits = self._slot_waits, []
            for wait in waits:
                task = wait.release[0]
                by_store.setdefault(id(wait.store), (wait.store, wait.alias, []))[2].append(
                    (task, task.next_run_time)
                )
        failed: Exception | None = None
        for store, alias, releases in by_store.values():
            try:
                with self.plugins.store_guard(store):
                    self._release(store, alias, releases)
            except Exception as exc:
                self._unreleased.append((store, alias, releases))
                failed = exc
        if failed is not None:
            raise failed

    def _release(self, store: BaseStore, store_alias: str, releases: list[Release]) -> None:
        deleted = store.release_tasks(releases)  # deleted: tasks that removed themselves
        if self.scheduler.wants_event(TASK_REMOVED):
            for task, next_time in releases:
                if next_time is None and task.id not in deleted:
                    self.scheduler.dispatch_event(
                        TaskEvent(code=TASK_REMOVED, task_id=task.id, store=store_alias)
                    )

    def _retry_releases(self) -> None:
        """Write the releases that failed, oldest first; raise while the store still fails."""
        current = {id(store) for _, store in self.plugins.store_items}
        while self._unreleased:
            store, alias, releases = self._unreleased[0]
            if id(store) in current:  # a store removed since: nothing to write to
                with self.plugins.store_guard(store):
                    self._release(store, alias, releases)
                logger.info("Released %d task(s) after the store came back", len(releases))
            self._unreleased.pop(0)
