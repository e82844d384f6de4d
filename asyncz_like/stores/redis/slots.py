"""A Redis store's run slots: a sorted set per task, ``<tasks_key>.slots.<task id>``
(token -> until)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from redis import Redis

    from asyncz_like.stores.redis.scripts import Scripts
    from asyncz_like.tasks.task import Task

T = TypeVar("T")


class RedisRunSlots:
    """The run slots of one store's tasks; ``retry`` calls a Redis operation with the
    store's retries."""

    def __init__(
        self,
        client: Redis,
        scripts: Scripts,
        tasks_key: str,
        lease_seconds: float,
        retry: Callable[[Callable[[int], Any]], Any],
    ) -> None:
        self.client = client
        self.scripts = scripts
        self.tasks_key = tasks_key
        self.lease_seconds = lease_seconds
        self.retry = retry

    def acquire_many(self, tasks: Sequence[Task], now: datetime) -> list[str | None]:
        """Every slot in one script; a token there already counts as taken, so a retry after
        a lost answer takes nothing twice."""
        moment = now.timestamp()
        until, lifetime = repr(moment + self.lease_seconds), self.key_ms()
        tokens = [uuid.uuid4().hex for _ in tasks]
        keys = [self.key(task.id) for task in tasks]
        args: list[Any] = [repr(moment), until, lifetime]
        for task, token in zip(tasks, tokens, strict=True):
            args += (task.max_instances or 1, token)

        def acquire(_: int) -> list[Any]:
            return list(self.scripts.slot_acquire_many(keys=keys, args=args))

        taken = self.retry(acquire) if tasks else []
        return [token if int(ok) else None for token, ok in zip(tokens, taken, strict=True)]

    def release_many(self, slots: Sequence[tuple[str, str]]) -> None:
        def release(_: int) -> list[Any]:
            pipe = self.client.pipeline(transaction=False)
            for task_id, token in slots:
                pipe.zrem(self.key(task_id), token)
            return list(pipe.execute())

        if slots:
            self.retry(release)

    def renew_many(self, slots: list[tuple[str, str]], now: datetime) -> None:
        until = repr(now.timestamp() + self.lease_seconds)
        by_task: dict[str, list[str]] = {}
        for task_id, token in slots:
            by_task.setdefault(task_id, []).append(token)
        for task_id, tokens in by_task.items():
            keys, args = [self.key(task_id)], [until, self.key_ms(), *tokens]
            self.retry(lambda _: self.scripts.slot_renew(keys=keys, args=args))  # noqa: B023

    def key(self, task_id: str) -> str:
        return f"{self.tasks_key}.slots.{task_id}"

    def key_ms(self) -> int:
        """How long Redis keeps a slots key nobody touches (twice the lease)."""
        return int(self.lease_seconds * 2000) + 1000
