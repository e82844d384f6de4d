"""The SQL store: tasks in one table of SQLite, PostgreSQL or MariaDB/MySQL (SQLAlchemy Core).

This module imports SQLAlchemy only when a store is made, so that the class can be named (and
looked up by its alias) without it; a missing SQLAlchemy raises MissingDependencyError then.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import (
    BrokenRecordError,
    ConflictIdError,
    MissingDependencyError,
    TaskConfigurationError,
    TaskLookupError,
)
from asyncz_like.limits import check_count
from asyncz_like.serializers import BaseSerializer, encode_task, get_serializer
from asyncz_like.serializers.decoded import DecodedRecords
from asyncz_like.stores.base import (
    DEFAULT_LEASE_SECONDS,
    BaseStore,
    StoreScheduler,
    TakeoverHold,
    check_lease_options,
    lost_claim_start,
)

if TYPE_CHECKING:
    import sqlalchemy as sa

    from asyncz_like.stores.runs import RunStore
    from asyncz_like.stores.sqlalchemy.database import Database
    from asyncz_like.tasks.task import Task


#: Seconds between two purges of expired run slots (see ``_purge_expired_slots``).
SLOT_PURGE_INTERVAL = 60.0


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
        _check_options(tablename, lease_seconds, poll_interval, batch_size)
        self.serializer = get_serializer(serializer, secret_key)
        self._records = DecodedRecords(self.serializer)
        self.lease_seconds = float(lease_seconds)
        self.poll_interval = poll_interval
        self.batch_size = batch_size
        self.owner = uuid.uuid4().hex  # this instance's name on the leases it takes
        self._takeover_hold = TakeoverHold()
        #: Run slots taken with the last claim, by task id (None: max_instances were running).
        self._claimed_slots: dict[str, str | None] = {}
        self._next_slot_purge = 0.0  # epoch seconds: the first claim purges
        self._db = _open(database, engine, tablename, engine_options, self.logger)
        self._broken: dict[str, str] = {}
        self._unreported: list[tuple[str, BrokenRecordError]] = []
        self._broken_lock = threading.Lock()

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
            {"id": task.id, "next_run_time": _timestamp(task.next_run_time),
             "state": self._encode(task)}
            for task in tasks
        ]  # fmt: skip
        if rows and (held := self._db.insert_many(rows)) is not None:
            raise ConflictIdError(held)

    def update_task(self, task: Task) -> None:
        """Replace the task's record; a lease on it stays (the claim holder releases it)."""
        state = self._encode(task)
        params = {"next_run_time": _timestamp(task.next_run_time), "state": state}
        if not self._db.write(self._db.sql.update, task_id=task.id, **params):
            raise TaskLookupError(task.id)
        self._forget(task.id)
        self._records.forget((task.id,))  # the old record is not read again

    def update_task_if_unchanged(self, task: Task, seen: datetime, now: datetime) -> bool:
        """``update_task`` in one UPDATE that also checks the run time and the lease."""
        return self.update_tasks_if_unchanged([(task, seen)], now) == 1

    def update_tasks_if_unchanged(
        self, updates: Sequence[tuple[Task, datetime]], now: datetime
    ) -> int:
        """Every conditional UPDATE in one transaction."""
        from asyncz_like.stores.sqlalchemy.conditional import update_if_unchanged

        rows = [
            {"task_id": task.id, "state": self._encode(task), "seen": seen.timestamp(),
             "next_run_time": _timestamp(task.next_run_time)}
            for task, seen in updates
        ]  # fmt: skip
        if not rows:
            return 0
        written = update_if_unchanged(self._db, rows)
        for task, _ in updates:
            self._forget(task.id)
        self._records.forget(task.id for task, _ in updates)
        return written

    def delete_task(self, task_id: str) -> None:
        """Remove the task; a broken record too (on purpose)."""
        if not self._db.write(self._db.sql.delete, task_id=task_id):
            raise TaskLookupError(task_id)
        self._forget(task_id)
        self._records.forget((task_id,))

    def remove_all_tasks(self) -> None:
        """Remove every readable task. Broken records are kept (delete_task removes one):
        every record is read first, so that all the broken ones are known."""
        self.get_all_tasks()
        kept = self._broken_ids()
        self._db.write(self._db.sql.delete_all_but(kept))
        if kept:
            self.logger.warning(
                "remove_all_tasks kept %d broken record(s): %s", len(kept),
                ", ".join(sorted(kept)), extra={"store": self.alias},
            )  # fmt: skip

    # -- reads ----------------------------------------------------------------------------

    def lookup_task(self, task_id: str) -> Task | None:
        rows = self._db.read(self._db.sql.select_one, task_id=task_id)
        return self._decode_all([(task_id, *rows[0])])[0] if rows else None

    def get_due_tasks(self, now: datetime) -> list[Task]:
        """Due tasks that no scheduler holds a live lease on, earliest first."""
        moment = now.timestamp()
        rows = self._db.read(
            self._db.sql.due(self._broken_ids()), now=moment, expired_before=moment
        )
        return [task for task in self._decode_all(rows) if task is not None]

    def get_all_tasks(self) -> list[Task]:
        rows = self._db.read(self._db.sql.select_all)
        present = {task_id for task_id, _, _ in rows}
        with self._broken_lock:  # records deleted by another scheduler are not broken anymore
            for task_id in [task_id for task_id in self._broken if task_id not in present]:
                del self._broken[task_id]
        return [task for task in self._decode_all(rows) if task is not None]

    def get_paused_tasks(self) -> list[Task]:
        rows = self._db.read(self._db.sql.select_paused)
        return [task for task in self._decode_all(rows) if task is not None]

    def get_next_run_time(self) -> datetime | None:
        """The earliest run time of a task that is not broken. For a task claimed right now
        that is the end of its lease, when later: the earliest moment it can be claimed."""
        times = [t for t in self._db.next_times(self._broken_ids()) if t is not None]
        return datetime.fromtimestamp(min(times), UTC) if times else None

    def run_store(self) -> RunStore:
        """The table ``<tablename>_runs`` in this store's database."""
        from asyncz_like.stores.sqlalchemy.runs import SQLRunStore

        return SQLRunStore(self.database, self.database.table.name, self.serializer)

    def get_broken_records(self) -> dict[str, str]:
        with self._broken_lock:
            return dict(self._broken)

    # -- claims ---------------------------------------------------------------------------

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        """Lease up to ``limit`` due tasks, ``batch_size`` per transaction. A broken record is
        not leased: it joins the known-broken ids, which the next batch's query excludes."""
        moment = now.timestamp()
        until = moment + self.lease_seconds
        self._free_unused_slots(list(self._claimed_slots.items()))
        if moment >= self._next_slot_purge:
            self._purge_expired_slots(moment)
        tasks: list[Task] = []
        expired_before = self._takeover_hold.expired_before(moment)
        while len(tasks) < limit:
            want = min(self.batch_size, limit - len(tasks))
            try:
                claimed = self._db.claim(
                    moment, until, self.owner, want, self._broken_ids(), self._decode,
                    _slot_wanted, expired_before,
                )  # fmt: skip
            except Exception:
                self._takeover_hold.failed(moment)
                raise
            self._takeover_hold.reached(moment, self.lease_seconds)
            tasks.extend(claimed.items)
            self._claimed_slots.update(claimed.slots)
            for task_id, lease_end in claimed.expired_leases.items():
                self.lost_claims[task_id] = lost_claim_start(lease_end, self.lease_seconds)
            if claimed.seen < want:
                break
        self._report_new_broken()
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
        db = self._db
        updates: list[dict[str, Any]] = []
        deletes: list[dict[str, Any]] = []
        for task, next_run_time in releases:
            row = {"task_id": task.id, "owner": self.owner,
                   "claimed": _timestamp(task.next_run_time)}  # fmt: skip
            if next_run_time is None:
                deletes.append(row)
                continue
            row["next_run_time"] = next_run_time.timestamp()
            updates.append(row)
        unused = [
            (t.id, self._claimed_slots[t.id]) for t, _ in releases if t.id in self._claimed_slots
        ]
        if unused:
            self._free_unused_slots(unused)
        if deletes:  # a last fire: its record is not read again
            self._records.forget(row["task_id"] for row in deletes)
        changed = db.release_many(updates, deletes)
        # Only now: a release that failed is written again by the scheduler, and must then
        # still name the run time claimed, not the new one.
        for task, next_run_time in releases:
            if next_run_time is not None:
                task.next_run_time = next_run_time
        if changed == len(releases):
            return []
        return self._settle_unreleased([row["task_id"] for row in updates + deletes], updates)

    def _settle_unreleased(self, ids: list[str], updates: list[dict[str, Any]]) -> list[str]:
        """After a release that did not change every row: drop our leases on the rows changed
        while claimed, warn of leases lost, and return the ids of updates whose task is gone."""
        db = self._db
        holders = dict(db.read(db.sql.select_leases, ids=ids))
        moved = [task_id for task_id in ids if holders.get(task_id) == self.owner]
        if moved:  # paused or rescheduled while claimed: that change stays
            db.write(db.sql.drop_leases, ids=moved, owner=self.owner)
            self.logger.info(
                "Task(s) %s changed while claimed: the change is kept", ", ".join(moved),
                extra={"store": self.alias},
            )  # fmt: skip
        for task_id in ids:
            if holders.get(task_id) not in (None, self.owner):
                self.logger.warning(
                    "Lost the lease on task %s (now held by %s): its release changes nothing",
                    task_id, holders[task_id], extra={"task_id": task_id, "store": self.alias},
                )  # fmt: skip
        return [row["task_id"] for row in updates if row["task_id"] not in holders]

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:
        if task_ids:
            until = now.timestamp() + self.lease_seconds
            db = self._db
            db.write(db.sql.renew_leases, ids=list(task_ids), owner=self.owner, until=until)

    # -- run slots --------------------------------------------------------------------------

    def acquire_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """The slots taken with this store's last claim for those tasks (no round trip), and
        the others in one transaction."""
        claimed = self._claimed_slots
        tokens: list[str | None] = []
        missing: list[int] = []  # indexes of the tasks without a slot from the claim
        for index, task in enumerate(tasks):
            if task.id in claimed:
                tokens.append(claimed.pop(task.id))
            else:
                tokens.append(None)
                missing.append(index)
        if missing:
            for index, token in zip(missing, self._take_run_slots(
                [tasks[index] for index in missing], now), strict=True):  # fmt: skip
                tokens[index] = token
        return tokens

    def _take_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """A slot for each task (or None), in one transaction."""
        moment = now.timestamp()
        wanted = [_slot_wanted(task) for task in tasks]
        taken = self._db.acquire_slots(wanted, moment, moment + self.lease_seconds)
        return [token if token in taken else None for _, _, token in wanted]

    def _free_unused_slots(self, slots: list[tuple[str, str | None]]) -> None:
        """Free the slots taken with a claim whose fire was not handed over (paused by a
        broken trigger, or no run time left)."""
        for task_id, _ in slots:
            self._claimed_slots.pop(task_id, None)
        held = [(task_id, token) for task_id, token in slots if token is not None]
        if held:
            self.release_run_slots(held)

    def _purge_expired_slots(self, moment: float) -> None:
        """Delete the expired run slots of every task, once a minute: a claim expires only
        those of the tasks it takes, and a scheduler that died, or a task deleted while it
        ran, leaves slots that no claim would look at again."""
        self._next_slot_purge = moment + SLOT_PURGE_INTERVAL
        self._db.write(self._db.slots.expire_all, now=moment)

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        return self._take_run_slots([task], now)[0]

    def release_run_slot(self, task_id: str, token: str) -> None:
        self._db.write(self._db.slots.release, token=token)

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        if slots:
            self._db.write(self._db.slots.release_many, tokens=[token for _, token in slots])

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        if slots:
            until = now.timestamp() + self.lease_seconds
            self._db.write(self._db.slots.renew, tokens=[t for _, t in slots], until=until)

    # -- records --------------------------------------------------------------------------

    def _encode(self, task: Task) -> bytes:
        if len(task.id) > self._db.id_length:
            raise TaskConfigurationError(
                f"Task id {task.id[:40]!r}... is {len(task.id)} characters long; "
                f"the SQL store keeps ids of up to {self._db.id_length}"
            )
        return encode_task(task, self.serializer, run_time=False)

    def _decode(self, task_id: str, state: bytes, next_run_time: float | None) -> Task | None:
        """The task, or None for a broken record (remembered, reported later)."""
        try:
            task = self._records.decode(bytes(state), next_run_time)
            if task.id != task_id:
                raise BrokenRecordError(task_id, f"its id is {task.id!r}, not {task_id!r}")
        except Exception as error:
            if not isinstance(error, BrokenRecordError):
                error = BrokenRecordError(task_id, f"cannot decode: {error!r}")
            with self._broken_lock:
                if task_id not in self._broken:
                    self._broken[task_id] = error.reason
                    self._unreported.append((task_id, error))
            return None
        if task_id in self._broken:  # rewritten since (by update_task, maybe elsewhere)
            self._forget(task_id)
        return task

    def _decode_all(self, rows: Sequence[tuple[str, bytes, float | None]]) -> list[Task | None]:
        tasks = [self._decode(task_id, state, next_time) for task_id, state, next_time in rows]
        self._report_new_broken()
        return tasks

    def _report_new_broken(self) -> None:
        """Report each newly broken record once, outside any transaction."""
        with self._broken_lock:
            pending, self._unreported = self._unreported, []
        for task_id, error in pending:
            self.report_broken_record(task_id, error)

    def _broken_ids(self) -> list[str]:
        with self._broken_lock:
            return sorted(self._broken)

    def _forget(self, task_id: str) -> None:
        with self._broken_lock:
            self._broken.pop(task_id, None)

    @property
    def database(self) -> Database:
        """The table's connection, transactions and retries, for records kept beside the
        tasks (the run history)."""
        return self._db

    # -- test hooks -------------------------------------------------------------------------

    def overwrite_record_for_tests(self, task_id: str, raw: bytes) -> None:
        """Test only: replace the stored record of ``task_id`` with ``raw`` bytes."""
        self._db.write(self._db.sql.overwrite_state, task_id=task_id, state=raw)

    def drop_table_for_tests(self) -> None:
        """Test only: drop the table and close the connections."""
        self._db.retry(self._db.drop_table)
        self._db.dispose()


def _timestamp(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()


def _check_options(
    tablename: str, lease_seconds: float, poll_interval: float | None, batch_size: int
) -> None:
    if not isinstance(tablename, str) or not 0 < len(tablename) <= 48:
        raise ValueError(f"tablename must be a name of 1 to 48 characters, got {tablename!r}")
    check_lease_options(lease_seconds, poll_interval)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    check_count(batch_size, "batch_size")


def _open(
    database: str | None,
    engine: sa.Engine | None,
    tablename: str,
    engine_options: dict[str, Any],
    logger: Any,
) -> Database:
    """The Database over a new engine for ``database``, or over the given ``engine``."""
    try:
        import sqlalchemy  # noqa: F401
        import tenacity  # noqa: F401
    except ImportError as error:
        raise MissingDependencyError(error.name or "sqlalchemy", "sqlalchemy") from error
    from asyncz_like.stores.sqlalchemy import engine as engines
    from asyncz_like.stores.sqlalchemy.database import Database

    if (database is None) == (engine is None):
        raise ValueError("SQLAlchemyStore needs either database (a URL) or engine, not both")
    if engine is None:
        assert database is not None
        return Database(engines.make_engine(database, engine_options), tablename, True, logger)
    if engine.dialect.name not in engines.SUPPORTED:
        raise ValueError(
            f"SQLAlchemyStore: the {engine.dialect.name!r} dialect is not supported; use "
            "SQLite, PostgreSQL (psycopg) or MariaDB/MySQL (pymysql)"
        )
    engines.prepare(engine)
    return Database(engine, tablename, False, logger)


def _slot_wanted(task: Task) -> tuple[str, int, str]:
    """A run slot to take for ``task``: its id, its ``max_instances`` and a new token."""
    return task.id, task.max_instances or 1, uuid.uuid4().hex
