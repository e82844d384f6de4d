"""The SQL store: tasks in one table of SQLite, PostgreSQL or MariaDB/MySQL (SQLAlchemy Core).

This module imports SQLAlchemy only when a store is made, so that the class can be named (and
looked up by its alias) without it; a missing SQLAlchemy raises MissingDependencyError then.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import (
    ConflictIdError,
    TaskConfigurationError,
    TaskLookupError,
)
from asyncz_like.serializers import BaseSerializer, encode_task, get_serializer
from asyncz_like.stores.base import (
    DEFAULT_LEASE_SECONDS,
    BaseStore,
    StoreScheduler,
    TakeoverHold,
    lost_claim_start,
)
from asyncz_like.stores.sqlalchemy.opening import check_options, open_database
from asyncz_like.stores.sqlalchemy.records import SQLRecords
from asyncz_like.stores.sqlalchemy.slots import SQLRunSlots, slot_wanted

if TYPE_CHECKING:
    import sqlalchemy as sa

    from asyncz_like.stores.runs import RunStore
    from asyncz_like.stores.sqlalchemy.database import Database
    from asyncz_like.tasks.task import Task


class SQLAlchemyStore(BaseStore):
    """Keeps tasks in a table that several schedulers (processes, hosts) may share.

    Give ``database`` (a URL: ``sqlite:///tasks.db``, ``postgresql+psycopg://...``,
    ``mysql+pymysql://...``) or an ``engine``. ``engine_options`` go to
    ``sqlalchemy.create_engine``. A claim leases due rows for ``lease_seconds`` in batches of
    ``batch_size``; ``poll_interval`` is how often the scheduler looks for tasks that other
    schedulers added. See docs/store-sqlalchemy.md.
    """

    does_io = True
    shares_run_slots = True
    validates_on_add = True

    def __init__(
        self,
        database: str | None = None,
        engine: sa.Engine | None = None,
        tablename: str = "asyncz_like_tasks",
        serializer: str | BaseSerializer | None = None,
        secret_key: str | bytes | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float | None = 1.0,
        batch_size: int = 500,
        **engine_options: Any,
    ) -> None:
        super().__init__(**(engine_options if engine is not None else {}))
        check_options(tablename, lease_seconds, poll_interval, batch_size)
        self.serializer = get_serializer(serializer, secret_key)
        self.lease_seconds = float(lease_seconds)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.owner = uuid.uuid4().hex  # this instance's name on the leases it takes
        self._takeover_hold = TakeoverHold()
        self._db = open_database(database, engine, tablename, engine_options, self.logger)
        self._slots = SQLRunSlots(self._db, self.lease_seconds)
        self._reads = SQLRecords(self.serializer, self.report_broken_record)

    @property
    def engine(self) -> sa.Engine:
        """The SQLAlchemy engine the store works through."""
        return self._db.engine

    @property
    def metadata(self) -> sa.MetaData:
        """A metadata holding the store's tables (tasks and run slots), as asyncz's store
        has one: ``store.metadata.drop_all(store.engine)`` removes them."""
        import sqlalchemy

        metadata = sqlalchemy.MetaData()
        self._db.table.to_metadata(metadata)
        self._db.slots.table.to_metadata(metadata)
        return metadata

    def _repr_details(self) -> list[tuple[str, Any]]:
        url = self._db.engine.url.render_as_string(hide_password=True)
        return [("database", url), *super()._repr_details()]

    # -- life cycle ---------------------------------------------------------------------

    def start(self, scheduler: StoreScheduler, alias: str) -> None:
        super().start(scheduler, alias)
        self._db.logger = self.logger
        self._db.start()

    def attach(self, scheduler: StoreScheduler, alias: str) -> None:
        """Start on an existing table, creating nothing: StoreNotFoundError when the table
        (or the SQLite file) is missing. Connection errors are raised at once, not retried."""
        BaseStore.start(self, scheduler, alias)
        self._db.logger = self.logger
        self._db.check_exists(self.__class__.__name__)

    def shutdown(self) -> None:
        self._db.dispose()
        super().shutdown()

    # -- writes ---------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        self._encode(task)

    def add_task(self, task: Task) -> None:
        state = self._encode(task)
        if not self._db.insert(task.id, _timestamp(task.next_run_time), state):
            raise ConflictIdError(task.id)

    def add_tasks(self, tasks: Sequence[Task]) -> None:
        """Insert all in one transaction, or none (ConflictIdError for an id held)."""
        rows = [
            {
                "id": task.id,
                "next_run_time": _timestamp(task.next_run_time),
                "state": self._encode(task),
            }
            for task in tasks
        ]
        if rows and (held := self._db.insert_many(rows)) is not None:
            raise ConflictIdError(held)

    def update_task(self, task: Task) -> None:
        """Replace the task's record; a lease on it stays (the claim holder releases it)."""
        state = self._encode(task)
        params = {"next_run_time": _timestamp(task.next_run_time), "state": state}
        if not self._db.write(self._db.sql.update, task_id=task.id, **params):
            raise TaskLookupError(task.id)
        self._reads.forget((task.id,))  # the old record is not read again

    def update_task_if_unchanged(self, task: Task, seen: datetime, now: datetime) -> bool:
        """``update_task`` in one UPDATE that also checks the run time and the lease."""
        return self.update_tasks_if_unchanged([(task, seen)], now) == 1

    def update_tasks_if_unchanged(
        self, updates: Sequence[tuple[Task, datetime]], now: datetime
    ) -> int:
        """Every conditional UPDATE in one transaction."""
        from asyncz_like.stores.sqlalchemy.conditional import update_if_unchanged

        rows = [
            {
                "task_id": task.id,
                "state": self._encode(task),
                "seen": seen.timestamp(),
                "next_run_time": _timestamp(task.next_run_time),
            }
            for task, seen in updates
        ]
        if not rows:
            return 0
        written = update_if_unchanged(self._db, rows)
        self._reads.forget(task.id for task, _ in updates)
        return written

    def delete_task(self, task_id: str) -> None:
        """Remove the task; a broken record too (on purpose)."""
        if not self._db.write(self._db.sql.delete, task_id=task_id):
            raise TaskLookupError(task_id)
        self._reads.forget((task_id,))

    def remove_all_tasks(self) -> None:
        """Remove every readable task. Broken records are kept (delete_task removes one):
        every record is read first, so that all the broken ones are known."""
        self.get_all_tasks()
        kept = self._reads.broken_ids()
        self._db.write(self._db.sql.delete_all_but(kept))
        if kept:
            self.logger.warning(
                "remove_all_tasks kept %d broken record(s): %s",
                len(kept),
                ", ".join(sorted(kept)),
                extra={"store": self.alias},
            )

    # -- reads ----------------------------------------------------------------------------

    def lookup_task(self, task_id: str) -> Task | None:
        rows = self._db.read(self._db.sql.select_one, task_id=task_id)
        return self._reads.decode_all([(task_id, *rows[0])])[0] if rows else None

    def get_due_tasks(self, now: datetime) -> list[Task]:
        """Due tasks that no scheduler holds a live lease on, earliest first."""
        moment = now.timestamp()
        rows = self._db.read(
            self._db.sql.due(self._reads.broken_ids()), now=moment, expired_before=moment
        )
        return [task for task in self._reads.decode_all(rows) if task is not None]

    def get_all_tasks(self) -> list[Task]:
        rows = self._db.read(self._db.sql.select_all)
        self._reads.keep_broken_only(task_id for task_id, _, _ in rows)
        return [task for task in self._reads.decode_all(rows) if task is not None]

    def get_paused_tasks(self) -> list[Task]:
        rows = self._db.read(self._db.sql.select_paused)
        return [task for task in self._reads.decode_all(rows) if task is not None]

    def get_next_run_time(self) -> datetime | None:
        """The earliest run time of a task that is not broken. For a task claimed right now
        that is the end of its lease, when later: the earliest moment it can be claimed."""
        times = [t for t in self._db.next_times(self._reads.broken_ids()) if t is not None]
        return datetime.fromtimestamp(min(times), UTC) if times else None

    def run_store(self) -> RunStore:
        """The table ``<tablename>_runs`` in this store's database."""
        from asyncz_like.stores.sqlalchemy.runs import SQLRunStore

        return SQLRunStore(self.database, self.database.table.name, self.serializer)

    def get_broken_records(self) -> dict[str, str]:
        return self._reads.broken()

    # -- claims ---------------------------------------------------------------------------

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        """Lease up to ``limit`` due tasks, ``batch_size`` per transaction. A broken record is
        not leased: it joins the known-broken ids, which the next batch's query excludes."""
        moment = now.timestamp()
        until = moment + self.lease_seconds
        self._slots.free_unused(list(self._slots.claimed.items()))
        self._slots.purge_expired(moment)
        tasks: list[Task] = []
        expired_before = self._takeover_hold.expired_before(moment)
        while len(tasks) < limit:
            want = min(self.batch_size, limit - len(tasks))
            try:
                claimed = self._db.claim(
                    moment,
                    until,
                    self.owner,
                    want,
                    self._reads.broken_ids(),
                    self._reads.decode,
                    slot_wanted,
                    expired_before,
                )
            except Exception:
                self._takeover_hold.failed(moment)
                raise
            self._takeover_hold.reached(moment, self.lease_seconds)
            tasks.extend(claimed.items)
            self._slots.claimed.update(claimed.slots)
            for task_id, lease_end in claimed.expired_leases.items():
                self.lost_claims[task_id] = lost_claim_start(lease_end, self.lease_seconds)
            if claimed.seen < want:
                break
        self._reads.report_new()
        return tasks

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        """Write the next run time (or delete the task) and drop the lease, if still ours.
        The record is not written: the run time lives in its column only. A pause or a
        reschedule made while the task was claimed wins: then only the lease is dropped."""
        if self.release_tasks([(task, next_run_time)]):
            raise TaskLookupError(task.id)

    def release_tasks(self, releases: Sequence[tuple[Task, datetime | None]]) -> list[str]:
        """Every release in one transaction, each only if the lease is still ours and the
        run time still the one claimed (``task.next_run_time``, before it becomes the new one)."""
        if not releases:
            return []
        updates, deletes = _release_rows(releases, self.owner)
        claimed_slots = self._slots.claimed
        unused = [(t.id, claimed_slots[t.id]) for t, _ in releases if t.id in claimed_slots]
        if unused:
            self._slots.free_unused(unused)
        if deletes:  # a last fire: its record is not read again
            self._reads.decoded.forget(row["task_id"] for row in deletes)
        changed = self._db.release_many(updates, deletes)
        # Only now: a release that failed is written again by the scheduler, and must then
        # still name the run time claimed, not the new one.
        for task, next_run_time in releases:
            if next_run_time is not None:
                task.next_run_time = next_run_time
        if changed == len(releases):
            return []
        ids = [row["task_id"] for row in updates + deletes]
        return _settle_unreleased(self._db, self.owner, ids, updates, self.logger, self.alias)

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:
        if task_ids:
            until = now.timestamp() + self.lease_seconds
            db = self._db
            db.write(db.sql.renew_leases, ids=list(task_ids), owner=self.owner, until=until)

    # -- run slots --------------------------------------------------------------------------

    def acquire_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """The slots taken with this store's last claim for those tasks (no round trip), and
        the others in one transaction."""
        return self._slots.acquire_many(tasks, now)

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        return self._slots.take([task], now)[0]

    def release_run_slot(self, task_id: str, token: str) -> None:
        self._slots.release([token])

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        self._slots.release([token for _, token in slots])

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        self._slots.renew([token for _, token in slots], now)

    # -- records --------------------------------------------------------------------------

    def _encode(self, task: Task) -> bytes:
        if len(task.id) > self._db.id_length:
            raise TaskConfigurationError(
                f"Task id {task.id[:40]!r}... is {len(task.id)} characters long; "
                f"the SQL store keeps ids of up to {self._db.id_length}"
            )
        return encode_task(task, self.serializer, run_time=False)

    @property
    def database(self) -> Database:
        """The table's connection, transactions and retries, for records kept beside the
        tasks (the run history)."""
        return self._db


def _timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _release_rows(
    releases: Sequence[tuple[Task, datetime | None]], owner: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows to update (a next run time) and to delete (a last fire) for ``releases``."""
    updates: list[dict[str, Any]] = []
    deletes: list[dict[str, Any]] = []
    for task, next_run_time in releases:
        row = {"task_id": task.id, "owner": owner, "claimed": _timestamp(task.next_run_time)}
        if next_run_time is None:
            deletes.append(row)
            continue
        row["next_run_time"] = next_run_time.timestamp()
        updates.append(row)
    return updates, deletes


def _settle_unreleased(
    db: Database,
    owner: str,
    ids: list[str],
    updates: list[dict[str, Any]],
    logger: logging.Logger,
    alias: str | None,
) -> list[str]:
    """After a release that did not change every row: drop our leases on the rows changed
    while claimed, warn of leases lost, and return the ids of updates whose task is gone."""
    holders = dict(db.read(db.sql.select_leases, ids=ids))
    moved = [task_id for task_id in ids if holders.get(task_id) == owner]
    if moved:  # paused or rescheduled while claimed: that change stays
        db.write(db.sql.drop_leases, ids=moved, owner=owner)
        logger.info(
            "Task(s) %s changed while claimed: the change is kept",
            ", ".join(moved),
            extra={"store": alias},
        )
    for task_id in ids:
        if holders.get(task_id) not in (None, owner):
            logger.warning(
                "Lost the lease on task %s (now held by %s): its release changes nothing",
                task_id,
                holders[task_id],
                extra={"task_id": task_id, "store": alias},
            )
    return [row["task_id"] for row in updates if row["task_id"] not in holders]
