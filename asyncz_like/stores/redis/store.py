"""The Redis store: a hash of records, a sorted set of run times, leases claimed by Lua."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from asyncz_like.exceptions import ConflictIdError, TaskLookupError
from asyncz_like.serializers import BaseSerializer, encode_task, get_serializer
from asyncz_like.serializers.decoded import DecodedRecords
from asyncz_like.stores.base import (
    DEFAULT_LEASE_SECONDS,
    RETAKE_OWN_CLAIMS_AFTER,
    BaseStore,
    StoreScheduler,
    TakeoverHold,
    check_lease_options,
    lost_claim_start,
)
from asyncz_like.stores.redis.batches import delete_many, delete_one, paused_ids, read_all
from asyncz_like.stores.redis.broken import BrokenRecords
from asyncz_like.stores.redis.connection import (
    build_client,
    call_with_retries,
    import_module,
    split_client_options,
)
from asyncz_like.stores.redis.held_connection import ScriptRunner
from asyncz_like.stores.redis.records import RedisRecords
from asyncz_like.stores.redis.scripts import Scripts
from asyncz_like.stores.redis.slots import RedisRunSlots

if TYPE_CHECKING:
    from redis import Redis

    from asyncz_like.stores.runs import RunStore
    from asyncz_like.tasks.task import Task

T = TypeVar("T")


_DEFAULT_TASKS_KEY = "asyncz_like.tasks"


class RedisStore(BaseStore):
    """Tasks in Redis, shared by any number of schedulers on any number of hosts.

    ``tasks_key`` is a hash (task id -> record), ``run_times_key`` a sorted set (task id ->
    next run time as a UTC epoch; paused tasks are absent) and ``<tasks_key>.leases`` a hash
    (task id -> ``"owner|until"``). The next run time lives in the score only: records hold
    none (the score wins over one written by an earlier version), so a release moves the
    score without rewriting the record, and a record read again is a copy of the task it
    decoded to last time (see ``DecodedRecords``). Due tasks are claimed in batches by one
    Lua script; see ``docs/store-redis.md``. Give ``url=`` (``redis://...``), ``client=`` (a
    ``redis.Redis`` made with ``decode_responses=False``; the store does not close it), or
    host, port and database; other keyword arguments go to ``redis.Redis`` (``password``,
    ``ssl``...). Connection errors are retried with backoff (``retry_attempts`` tries), then
    raised.
    """

    does_io = True
    shares_run_slots = True
    validates_on_add = True
    retry_attempts = 5
    retry_first_wait = 0.1
    retry_max_wait = 2.0

    def __init__(
        self,
        host: str = "localhost",
        port: int = 6379,
        database: int = 0,
        url: str | None = None,
        client: Redis | None = None,
        tasks_key: str = _DEFAULT_TASKS_KEY,
        run_times_key: str = "asyncz_like.run_times",
        serializer: str | BaseSerializer | None = None,
        secret_key: str | bytes | None = None,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        poll_interval: float | None = 1.0,
        **client_options: Any,
    ) -> None:
        import_module("tenacity")  # fail now, not at the first connection error
        taken, unknown = split_client_options(client_options)
        super().__init__(**unknown)
        if not (tasks_key and run_times_key) or tasks_key == run_times_key:
            raise ValueError("tasks_key and run_times_key must be two different, non-empty keys")
        lease, poll = check_lease_options(lease_seconds, poll_interval)
        self.serializer = get_serializer(serializer, secret_key)
        self.client, self._owns_client = build_client(host, port, database, url, client, taken)
        self.tasks_key = tasks_key
        self.run_times_key = run_times_key
        self.leases_key = f"{tasks_key}.leases"
        self.lease_seconds, self.poll_interval = lease, poll
        #: Names this store instance in leases; unique per instance.
        self.owner = uuid.uuid4().hex
        self._takeover_hold = TakeoverHold()
        self._runner = ScriptRunner(self.client, hold=self._owns_client)
        self._scripts = Scripts.register(self.client, self._runner)
        self._broken = BrokenRecords()
        self._records = DecodedRecords(self.serializer)
        self._reads = RedisRecords(self._records, self._broken, self.report_broken_record)
        self._slots = RedisRunSlots(
            self.client, self._scripts, tasks_key, self.lease_seconds, self._retry
        )

    # -- reading ----------------------------------------------------------------------------

    def lookup_task(self, task_id: str) -> Task | None:
        keys = [self.tasks_key, self.run_times_key]
        record, score = self._retry(lambda _: self._scripts.lookup(keys=keys, args=[task_id]))
        return self._reads.decode(task_id, record, _parse_score(score))

    def get_due_tasks(self, now: datetime) -> list[Task]:
        keys = [self.run_times_key, self.tasks_key]
        ids, records, scores = self._retry(
            lambda _: self._scripts.range(keys=keys, args=["-inf", _epoch(now)])
        )
        return self._reads.decode_all(ids, records, [float(score) for score in scores])

    def get_next_run_time(self) -> datetime | None:
        """The earliest time a task that is not known to be broken can be claimed: its next
        run time, or the end of the lease another scheduler holds on it (so that a claimed
        task does not make every other scheduler wake again and again)."""
        keys = [self.run_times_key, self.tasks_key, self.leases_key]
        args = self._broken.exclusion_args()
        text = self._retry(lambda _: self._scripts.next_time(keys=keys, args=args))
        return None if text is None else datetime.fromtimestamp(float(text), UTC)

    def get_all_tasks(self) -> list[Task]:
        client, tasks_key, run_times_key = self.client, self.tasks_key, self.run_times_key
        ids, records, times = self._retry(lambda _: read_all(client, tasks_key, run_times_key))
        return self._reads.decode_all(ids, records, times)

    def get_paused_tasks(self) -> list[Task]:
        client, tasks_key, run_times_key = self.client, self.tasks_key, self.run_times_key
        paused = self._retry(lambda _: paused_ids(client, tasks_key, run_times_key))
        if not paused:
            return []
        records = cast(  # None: deleted meanwhile (skipped by the decoding)
            "list[bytes | None]", self._retry(lambda _: client.hmget(tasks_key, paused))
        )
        return self._reads.decode_all(paused, records, [None] * len(paused))

    def run_store(self) -> RunStore:
        """The keys ``<tasks_key>.runs*`` beside this store's tasks."""
        from asyncz_like.stores.redis.runs import RedisRunStore

        return RedisRunStore(self.client, f"{self.tasks_key}.runs", self.serializer, self.logger)

    def get_broken_records(self) -> dict[str, str]:
        return self._broken.reasons()

    # -- writing ----------------------------------------------------------------------------

    def validate_task(self, task: Task) -> None:
        self._encode(task)

    def add_task(self, task: Task) -> None:
        record, keys = self._encode(task), [self.tasks_key, self.run_times_key]

        def add(attempt: int) -> Any:
            args = [task.id, record, _score(task), "1" if attempt > 1 else "0"]
            return self._scripts.add(keys=keys, args=args)

        if not self._retry(add):
            raise ConflictIdError(task.id)

    def add_tasks(self, tasks: Sequence[Task]) -> None:
        """Write all in one script, or none (ConflictIdError for an id held)."""
        if not tasks:
            return
        given = [item for task in tasks for item in (task.id, self._encode(task), _score(task))]
        keys = [self.tasks_key, self.run_times_key]

        def add(attempt: int) -> Any:
            return self._scripts.add_many(keys=keys, args=["1" if attempt > 1 else "0", *given])

        held = self._retry(add)
        if held:
            raise ConflictIdError(held.decode() if isinstance(held, bytes) else str(held))

    def update_task(self, task: Task) -> None:
        record, keys = self._encode(task), [self.tasks_key, self.run_times_key]
        args = [task.id, record, _score(task)]
        if not self._retry(lambda _: self._scripts.update(keys=keys, args=args)):
            raise TaskLookupError(task.id)
        self._broken.forget(task.id)
        self._records.forget((task.id,))  # the old record is not read again

    def update_task_if_unchanged(self, task: Task, seen: datetime, now: datetime) -> bool:
        """``update_task`` in one script that also checks the score and the lease."""
        return self.update_tasks_if_unchanged([(task, seen)], now) == 1

    def update_tasks_if_unchanged(
        self, updates: Sequence[tuple[Task, datetime]], now: datetime
    ) -> int:
        """Every conditional write in one script (per 500 tasks)."""
        from asyncz_like.stores.redis.conditional import update_if_unchanged

        keys = [self.tasks_key, self.run_times_key, self.leases_key]
        args: list[bytes | str] = []
        for task, seen in updates:
            args += [task.id, self._encode(task), _score(task), _epoch(seen)]
        if not args:
            return 0
        written = self._retry(lambda _: update_if_unchanged(self.client, self._runner, keys, args))
        for task, _ in updates:
            self._broken.forget(task.id)
        self._records.forget(task.id for task, _ in updates)
        return written

    def delete_task(self, task_id: str) -> None:
        keys = (self.tasks_key, self.run_times_key, self.leases_key)
        if not self._retry(lambda attempt: delete_one(self.client, keys, task_id, attempt)):
            raise TaskLookupError(task_id)
        self._broken.forget(task_id)
        self._records.forget((task_id,))

    def remove_all_tasks(self) -> None:
        """Remove every readable task. Broken records are kept (delete_task removes one):
        every record is read first, so that all the broken ones are known."""
        readable = [task.id for task in self.get_all_tasks()]
        kept = self._broken.reasons()
        keys = (self.tasks_key, self.run_times_key, self.leases_key)
        if not kept:
            self._retry(lambda _: self.client.delete(*keys))
            return
        if readable:
            self._retry(lambda _: delete_many(self.client, keys, readable))
        self.logger.warning(
            "remove_all_tasks kept %d broken record(s): %s",
            len(kept),
            ", ".join(sorted(kept)),
            extra={"store": self.alias},
        )

    # -- claims -----------------------------------------------------------------------------

    def acquire_due_tasks(self, now: datetime, limit: int) -> list[Task]:
        if limit <= 0:
            return []
        stamp = now.timestamp()
        keys = [self.run_times_key, self.tasks_key, self.leases_key]
        until = stamp + self.lease_seconds
        args = [repr(stamp), repr(until), self.owner, limit, repr(until - RETAKE_OWN_CLAIMS_AFTER)]
        args += [repr(self._takeover_hold.expired_before(stamp)), *self._broken.exclusion_args()]
        try:
            ids, records, scores, expired = self._retry(
                lambda _: self._scripts.claim(keys=keys, args=args)
            )
        except Exception:
            self._takeover_hold.failed(stamp)
            raise
        self._takeover_hold.reached(stamp, self.lease_seconds)
        for raw_id, lease_end in zip(expired[::2], expired[1::2], strict=True):
            self.lost_claims[raw_id.decode()] = lost_claim_start(
                float(lease_end), self.lease_seconds
            )
        tasks, broken = self._reads.decode_claimed(ids, records, scores)
        if broken:
            _drop_leases(self._scripts, self.leases_key, self.owner, broken, self.logger)
        return tasks

    def release_task(self, task: Task, next_run_time: datetime | None) -> None:
        """Write the next run time (the score; the record is not rewritten) or delete the
        task, and end our lease, only if the lease is still ours; when another scheduler has
        taken it over, warn and change nothing. A pause or a reschedule made while the task
        was claimed wins: then only the lease ends. ``task.next_run_time`` becomes
        ``next_run_time`` when that is not None."""
        if self.release_tasks([(task, next_run_time)]):
            raise TaskLookupError(task.id)

    def renew_claims(self, task_ids: Sequence[str], now: datetime) -> None:
        if task_ids:
            args = [self.owner, repr(now.timestamp() + self.lease_seconds), *task_ids]
            self._retry(lambda _: self._scripts.renew_leases(keys=[self.leases_key], args=args))

    def release_tasks(self, releases: Sequence[tuple[Task, datetime | None]]) -> list[str]:
        """Every release in one script (one round trip), each checked as ``release_task``."""
        if not releases:
            return []
        calls = [  # (task id, the new score or "" to delete, the score claimed)
            (task.id, "" if when is None else _epoch(when), _score(task)) for task, when in releases
        ]
        keys = [self.tasks_key, self.run_times_key, self.leases_key]
        if last_fires := [task_id for task_id, score, _ in calls if not score]:
            self._records.forget(last_fires)  # their records are not read again
        flat: list[Any] = [item for call in calls for item in call]

        def release(attempt: int) -> list[Any]:
            args = [self.owner, "1" if attempt > 1 else "0", *flat]
            return list(self._scripts.release_many(keys=keys, args=args))

        results = self._retry(release)
        # Only now: a release that failed is written again by the scheduler, and must then
        # still name the run time claimed, not the new one.
        for task, next_run_time in releases:
            if next_run_time is not None:
                task.next_run_time = next_run_time
        return _deleted(calls, results, self.logger, self.alias)

    def acquire_run_slots(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """Every slot in one script (see RedisRunSlots)."""
        return self._slots.acquire_many(tasks, now)

    def acquire_run_slot(self, task: Task, now: datetime) -> str | None:
        return self._slots.acquire_many([task], now)[0]

    def release_run_slot(self, task_id: str, token: str) -> None:
        self._slots.release_many([(task_id, token)])

    def release_run_slots(self, slots: Sequence[tuple[str, str]]) -> None:
        self._slots.release_many(slots)

    def renew_run_slots(self, slots: list[tuple[str, str]], now: datetime) -> None:
        self._slots.renew_many(slots, now)

    # -- helpers ----------------------------------------------------------------------------

    def attach(self, scheduler: StoreScheduler, alias: str) -> None:  # fails fast: no retry
        BaseStore.start(self, scheduler, alias)
        self.client.ping()

    def _retry(self, call: Callable[[int], T]) -> T:
        return call_with_retries(
            call, self.retry_attempts, self.retry_first_wait, self.retry_max_wait, self.logger
        )

    def _encode(self, task: Task) -> bytes:
        """The record of ``task``, without its next run time (that is the score)."""
        return encode_task(task, self.serializer, run_time=False)

    def shutdown(self) -> None:
        self._runner.close()
        if self._owns_client:
            self.client.close()
        super().shutdown()

    def _repr_details(self) -> list[tuple[str, Any]]:
        details = super()._repr_details()
        if self.tasks_key != _DEFAULT_TASKS_KEY:
            details.append(("tasks_key", repr(self.tasks_key)))
        return details


def _epoch(when: datetime) -> str:
    """An aware datetime as a UTC epoch, in a form Redis and Lua read back exactly."""
    return repr(when.timestamp())


def _score(task: Task) -> str:
    return "" if task.next_run_time is None else _epoch(task.next_run_time)


def _parse_score(score: bytes | None) -> float | None:
    """A score a script returned as a string; None (absent: paused) stays None."""
    return None if score is None else float(score)


def _deleted(
    calls: list[tuple[str, str, str]], results: list[Any], logger: logging.Logger, alias: str | None
) -> list[str]:
    """The ids of the released tasks that were gone (-1); a lost lease (0) is warned of."""
    deleted: list[str] = []
    for (task_id, _, _), result in zip(calls, results, strict=True):
        if int(result) == -1:
            deleted.append(task_id)
        elif int(result) == 0:
            logger.warning(
                "Task %s: lease lost (it expired and another scheduler claimed the task); "
                "its release changes nothing",
                task_id,
                extra={"task_id": task_id, "store": alias},
            )
    return deleted


def _drop_leases(
    scripts: Scripts, leases_key: str, owner: str, task_ids: list[str], logger: logging.Logger
) -> None:
    """Give back the leases on records that turned out broken (best effort)."""
    errors = import_module("redis").exceptions.RedisError
    try:
        scripts.drop_leases(keys=[leases_key], args=[owner, *task_ids])
    except errors as exc:  # they expire anyway
        logger.warning("Could not drop leases on broken records: %s", exc)
