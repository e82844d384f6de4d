"""Many deliveries of the Redis broker ended in one round trip: their scripts' ``EVALSHA``
calls sent in one pipeline (not a transaction: each script is atomic on its own)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from redis import Redis

    from asyncz_like.stores.redis.scripts import RunnableScript

#: One held-run call: the script, its head (id, token, then the rest), fields to write and
#: fields to delete.
HeldCall = tuple["RunnableScript", list[Any], Mapping[str, Any], Iterable[str]]


def held_args(
    prefix: str, head: Sequence[Any], values: Mapping[str, Any], deleted: Iterable[str],
    attempt: int,
) -> list[Any]:  # fmt: skip
    """A held-run script's ARGV: ``retried`` goes after the token (a retry of a call whose
    answer was lost must not be refused for having been done)."""
    args = [prefix, *head[:2], "1" if attempt > 1 else "0", *head[2:], len(values)]
    for field, value in values.items():
        args.extend((field, value))
    args.extend(deleted)
    return args


def pipelined(client: Redis, prefix: str, calls: Sequence[HeldCall], attempt: int) -> list[Any]:
    """The replies of ``calls`` sent in one pipeline; an error reply is in the list (a script
    the server lost after a restart: the caller runs that call on its own)."""
    pipe = client.pipeline(transaction=False)
    for script, head, values, deleted in calls:
        pipe.evalsha(script.script.sha, 0, *held_args(prefix, head, values, deleted, attempt))
    return list(pipe.execute(raise_on_error=False))
