"""The store contract: asyncz's method names, plus the claim of due fires."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from asyncz_like.events.base import BrokenRecordEvent
from asyncz_like.events.constants import STORE_RECORD_BROKEN
from asyncz_like.exceptions import TaskLookupError
from asyncz_like.limits import check_seconds, check_wait
from asyncz_like.locks import FileLockProtected, LockProtected, NullLockProtected
from asyncz_like.plugin_options import keep_extra_options

if TYPE_CHECKING:
    from asyncz_like.events.base import SchedulerEvent
    from asyncz_like.stores.runs import RunStore
    from asyncz_like.tasks.task import Task


#: The default ``lease_seconds`` of the shared stores: a claim lives from claim to release (under
#: a second) and a run slot is renewed every third of it while its run goes on, so 5 s covers
#: both with room, and a scheduler that dies holds its tasks up for 5 s at most.
DEFAULT_LEASE_SECONDS = 5.0


class StoreScheduler(Protocol):
    """What a store needs of the scheduler that started it. A Protocol, so that ``stores/``
    does not import ``schedulers/`` (which is above it)."""

    @property
    def lock_path(self) -> str | None: ...
    def wants_event(self, code: int) -> bool: ...
    def dispatch_event(self, event: SchedulerEvent) -> None: ...


class BaseStore(ABC):
    """Keeps tasks and answers which are due.

    Invariants every store keeps:

    * ``add_task`` raises ConflictIdError for an id it holds (``add_tasks`` too, and then
      keeps none of the tasks it was given); ``update_task``,
      ``delete_task`` raise TaskLookupError for one it does not;
    * ``get_due_tasks(now)`` returns the tasks with ``next_run_time <= now``, earliest first,
      and changes nothing; paused tasks (``next_run_time`` None) are never due;
    * ``acquire_due_tasks(now, limit)`` returns at most ``limit`` due tasks and claims them:
      a claimed task is returned by no other call until the scheduler has given it back with
      ``release_task`` (its next run time moved on, or None: the task is done and removed), or
      until the claim's lease (``lease_seconds``, extended by ``renew_claims`` while the
      scheduler holds the claim) has expired. The SQL and Redis stores also
      hand out again, to the same store instance's next claim, a task it claimed in an
      earlier call and never released: the scheduler releases every claim within its pass, so
      such a claim is one whose pass failed before its fires went out. Stores shared by several
      schedulers make that claim atomic in the shared storage, so that each (task, scheduled
      time) is claimed by one scheduler only;
    * when a claim takes over a lease that expired unreleased (its holder died), the store
      notes in ``lost_claims`` the task id and the moment that lost claim was taken; the
      scheduler then runs the fires that claim held as on time (their lateness counts from that
      moment), so that a scheduler killed between its claim and its release loses no fire;
    * ``validate_task`` raises, and writes nothing, when the store could not keep the task
      (a function not importable by reference, arguments the serializer cannot encode);
    * ``update_task_if_unchanged(task, seen, now)`` writes ``task`` only while the stored
      next run time is ``seen`` and (in a store several schedulers share) no claim is held
      on it, as one atomic step: of several schedulers that try the same repair, one writes;
    * ``get_all_tasks()`` lists every task, scheduled ones by next run time, paused ones last;
    * a record that cannot be read is reported and skipped, never deleted;
    * stores with ``shares_run_slots`` count running instances in the shared storage:
      ``acquire_run_slot(task, now)`` returns a token while fewer than ``task.max_instances``
      live slots exist for ``task.id`` (across every store instance on that storage), else
      None; a slot lives until ``release_run_slot`` or until its lease (``lease_seconds``,
      renewed by ``renew_run_slots``) expires.
    """

    #: True when the store does I/O (files, a database): the scheduler keeps it off the loop.
    does_io: bool = False
    #: Seconds between looks for tasks that other schedulers added (None: nobody else adds).
    poll_interval: float | None = None
    #: True when ``max_instances`` is counted in the shared storage (the ``*_run_slot`` methods).
    shares_run_slots: bool = False
    #: True when ``add_task`` checks the task as ``validate_task`` does and raises before it
    #: writes anything: the scheduler then skips a separate ``validate_task`` (an encoding)
    #: when it adds a task to a running scheduler.
    validates_on_add: bool = False
    #: Seconds a claim or a run slot outlives a scheduler that stopped renewing it.
    lease_seconds: float = DEFAULT_LEASE_SECONDS

    def __init__(self, **options: Any) -> None:
        self.scheduler: StoreScheduler | None = None
        self.alias: str | None = None
        self.lock: LockProtected = NullLockProtected()
        self.logger = logging.getLogger("asyncz_like.stores")
        #: Task id -> when a claim that expired unreleased was taken (filled by claims).
        self.lost_claims: dict[str, datetime] = {}
        keep_extra_options(self, options)

    def start(self, scheduler: StoreScheduler, alias: str) -> None:
        """Called when the scheduler starts, or when the store is added to a running one."""
        self.scheduler = scheduler
        self.alias = alias
        self.logger = logging.getLogger(f"asyncz_like.stores.{alias}")
        self.lock = self.create_lock()

    def attach(self, scheduler: StoreScheduler, alias: str) -> None:
        """Start the store on what already exists, creating nothing (no file, table,
        directory or key), for a tool that looks at a store or changes its tasks while no
        scheduler of its own runs (the command line). Raises StoreNotFoundError when there
        is nothing where the store points. This default is :meth:`start`: a store that
        creates something when it starts overrides it."""
        self.start(scheduler, alias)

    def create_lock(self) -> LockProtected:
        """The per-store file lock when the scheduler has a ``lock_path``, else a no-op lock."""
        path = self.scheduler.lock_path if self.scheduler else None
        if not path:
            return NullLockProtected()
        return FileLockProtected(path.replace("{store}", self.alias or "default"))

    def shutdown(self) -> None:
        """Free what the store holds (connections, locks)."""
        self.lock.shutdown()

    def take_lost_claims(self) -> dict[str, datetime] | None:
        """The ``lost_claims`` noted since the last call (None: none), which the store then
        forgets: the scheduler takes them once per claim."""
        lost = self.lost_claims
        if not lost:
            return None
        taken = dict(lost)
        lost.clear()
        return taken

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        """Claim up to ``limit`` due tasks. Stores written for asyncz inherit this plain form."""
        return self.get_due_tasks(now)[:limit]

    def add_tasks(self, tasks: Sequence[Task]) -> None:
        """Store these new tasks, all or none: ConflictIdError (for the first id held) and
        nothing kept. This plain form adds one by one and deletes what it added when one
        conflicts; the SQL and Redis stores write all in one transaction or script."""
        added: list[str] = []
        try:
            for task in tasks:
                self.add_task(task)
                added.append(task.id)
        except BaseException:
            for task_id in added:
                self.delete_task(task_id)
            raise

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        """Give back a claimed task: with its next run time, or removed when that is None."""
        if next_run_time is None:
            self.delete_task(task.id)
        else:
            task.next_run_time = next_run_time
            self.update_task(task)

    def release_tasks(self, releases: Sequence[tuple[Task, datetime | None]]) -> list[str]:
        """``release_task`` for each ``(task, next_run_time)``; the SQL and Redis stores do it
        in one round trip. Returns the ids of the tasks deleted meanwhile (skipped)."""
        deleted: list[str] = []
        for task, next_run_time in releases:
            try:
                self.release_task(task, next_run_time)
            except TaskLookupError:
                deleted.append(task.id)
        return deleted

    def update_task_if_unchanged(self, task: Task, seen: datetime, now: datetime) -> bool:
        """Replace the stored task with ``task`` only while its stored next run time is
        still ``seen`` and no scheduler holds a claim on it; True when written, False when it
        changed, is claimed, is gone or is broken (nothing written then). The scheduler
        writes a repair this way (an interval moved back after a step of the wall clock,
        see ``schedulers/clock_steps.py``), so that it never undoes a fire or a change that
        another scheduler made since it read the task. ``now`` is the scheduler's time.

        This plain form reads and then writes: right for a store that one scheduler works
        (the scheduler holds its lock). The file, SQL and Redis stores make the check and
        the write one step in the shared storage."""
        stored = self.lookup_task(task.id)
        if stored is None or stored.next_run_time != seen:
            return False
        try:
            self.update_task(task)
        except TaskLookupError:
            return False
        return True

    def update_tasks_if_unchanged(
        self, updates: Sequence[tuple[Task, datetime]], now: datetime
    ) -> int:
        """``update_task_if_unchanged`` for each ``(task, seen)``; how many were written. The
        SQL and Redis stores write them in one round trip (a few, for thousands)."""
        return sum(self.update_task_if_unchanged(task, seen, now) for task, seen in updates)

    def acquire_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """``acquire_run_slot`` for each task, in order (a task may appear more than once);
        the SQL and Redis stores take them all in one round trip."""
        return [self.acquire_run_slot(task, now) for task in tasks]

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        """A token for one running instance of ``task``, or None when ``task.max_instances``
        are running. Default: always a token (the executor's own count holds)."""
        return ""

    def release_run_slot(self, task_id: str, token: str) -> None:  # noqa: B027  # optional hook
        """Free the slot ``token`` of ``task_id`` (nothing when it expired already)."""

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        """``release_run_slot`` for each ``(task_id, token)``; one round trip on SQL/Redis."""
        for task_id, token in slots:
            self.release_run_slot(task_id, token)

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:  # noqa: B027
        """Extend this store instance's leases on these claimed tasks to ``now +
        lease_seconds`` (a claim no longer ours is left alone). Default: nothing (a store
        that nobody else claims from)."""

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:  # noqa: B027
        """Extend the leases of these ``(task_id, token)`` slots to ``now + lease_seconds``."""

    def validate_task(self, task: Task) -> None:  # noqa: B027  # optional hook
        """Raise when this store could not keep ``task``; the memory store keeps anything."""

    def run_store(self) -> RunStore | None:
        """Where run records are kept beside this store's tasks, for a persistent run history;
        None (the default) when this store keeps none."""
        return None

    def get_broken_records(self) -> dict[str, str]:
        """Records that could not be read, by task id, with the reason. They are skipped by
        the loop and kept; ``delete_task`` removes one on purpose."""
        return {}

    def report_broken_record(self, task_id: str | None, error: BaseException) -> None:
        """Log a record that cannot be read and tell the listeners; the record is kept."""
        self.logger.error(
            "Skipping a broken record in store %s (task %s): %s",
            self.alias,
            task_id,
            error,
            extra={"task_id": task_id, "store": self.alias},
        )
        scheduler = self.scheduler
        if scheduler is not None and scheduler.wants_event(STORE_RECORD_BROKEN):
            scheduler.dispatch_event(
                BrokenRecordEvent(
                    code=STORE_RECORD_BROKEN,
                    alias=self.alias,
                    task_id=task_id,
                    store=self.alias,
                    exception=error,
                )
            )

    @abstractmethod
    def lookup_task(self, task_id: str) -> Task | None:
        """The task with this id, or None."""

    @abstractmethod
    def get_due_tasks(self, now: datetime) -> list[Task]:
        """Tasks due at ``now``, earliest first."""

    @abstractmethod
    def get_next_run_time(self) -> datetime | None:
        """The earliest next run time of any task, or None."""

    @abstractmethod
    def get_all_tasks(self) -> list[Task]:
        """Every task, by next run time, paused ones last."""

    def get_paused_tasks(self) -> list[Task]:
        """The tasks without a next run time (paused, or waiting for the scheduler's
        shutdown), in the order of :meth:`get_all_tasks`. Stores that can find them without
        reading every task override this: a shutdown asks for them."""
        return [task for task in self.get_all_tasks() if task.next_run_time is None]

    @abstractmethod
    def add_task(self, task: Task) -> None:
        """Store a new task."""

    @abstractmethod
    def update_task(self, task: Task) -> None:
        """Replace the stored task that has this task's id."""

    @abstractmethod
    def delete_task(self, task_id: str) -> None:
        """Remove the task with this id."""

    @abstractmethod
    def remove_all_tasks(self) -> None:
        """Remove every task."""

    def __repr__(self) -> str:
        details = ", ".join(f"{name}={value}" for name, value in self._repr_details())
        return f"<{type(self).__name__} ({details})>" if details else f"<{type(self).__name__}>"

    def _repr_details(self) -> list[tuple[str, Any]]:
        """What ``repr`` shows besides the class (as asyncz's: not the alias)."""
        return []


#: A store takes back a lease of its own (a claim of a pass that failed after its commit) once
#: the lease is this many seconds old. Not sooner: a scheduler holds its leases on fires
#: claimed ahead of their run time (``claim_ahead``, at most 1 s) until those fires start
#: (and longer when one waits for a free worker: the scheduler hands such a claim out again
#: to no executor, see ``DueTaskProcessor._not_yet_handed_over``).
RETAKE_OWN_CLAIMS_AFTER = 2.0


def check_lease_options(
    lease_seconds: object, poll_interval: object, poll_may_be_none: bool = True
) -> tuple[float, float | None]:
    """A store's ``lease_seconds`` (positive seconds) and ``poll_interval`` (a wait, or None
    when ``poll_may_be_none``), finite and in range: ValueError naming the option otherwise."""
    lease = check_seconds(lease_seconds, "lease_seconds", positive=True, wrong_type=ValueError)
    if poll_interval is None and poll_may_be_none:
        return float(lease), None
    return float(lease), check_wait(poll_interval, "poll_interval", wrong_type=ValueError)


class TakeoverHold:
    """After its store instance could not reach the server, the leases its claims may take
    over: for ``lease_seconds`` after the server answers again, only those that ended before
    it went away. A lease that ended during the outage may be held by a scheduler that is
    alive, was cut off too, and has a release to write (its fire has started): it gets that
    long to write it. A lease that ended while the server could be reached is a dead
    scheduler's and is taken over at once. Moments are the claims' ``now`` (epoch seconds)."""

    def __init__(self) -> None:
        self._lost_at: float | None = None  # the first failed claim of this outage
        self._hold_until: float | None = None  # set once a claim went through again

    def expired_before(self, now: float) -> float:
        """Leases that ended before this moment may be taken over by a claim at ``now``."""
        if self._lost_at is None:
            return now
        if self._hold_until is not None and now >= self._hold_until:
            self._lost_at = self._hold_until = None
            return now
        return min(now, self._lost_at)

    def failed(self, now: float) -> None:
        """A claim at ``now`` could not reach the server."""
        if self._lost_at is None:
            self._lost_at = now
        self._hold_until = None  # (an outage during a hold extends the hold)

    def reached(self, now: float, lease_seconds: float) -> None:
        """A claim at ``now`` went through."""
        if self._lost_at is not None and self._hold_until is None:
            self._hold_until = now + lease_seconds


def lost_claim_start(lease_end: float, lease_seconds: float) -> datetime:
    """When a lease that ended at ``lease_end`` (epoch seconds) was taken."""
    return datetime.fromtimestamp(lease_end - lease_seconds, UTC)
