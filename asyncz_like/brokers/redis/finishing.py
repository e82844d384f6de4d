"""Many deliveries of the Redis broker ended in one round trip: the arguments of one
``FINISH_MANY`` script call for what the ``FINISH`` and ``RETRY`` scripts do one at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from asyncz_like.stores.redis.scripts import RunnableScript

#: One held-run call: the script, its head (id, token, then the rest), fields to write and
#: fields to delete.
HeldCall = tuple["RunnableScript", list[Any], Mapping[str, Any], Iterable[str]]


def held_args(
    prefix: str,
    head: Sequence[Any],
    values: Mapping[str, Any],
    deleted: Iterable[str],
    attempt: int,
) -> list[Any]:
    """A held-run script's ARGV: ``retried`` goes after the token (a retry of a call whose
    answer was lost must not be refused for having been done)."""
    args = [prefix, *head[:2], "1" if attempt > 1 else "0", *head[2:], len(values)]
    for field, value in values.items():
        args.extend((field, value))
    args.extend(deleted)
    return args


def batch_args(
    prefix: str, calls: Sequence[HeldCall], attempt: int, retry: RunnableScript
) -> list[Any]:
    """``FINISH_MANY``'s ARGV for ``calls`` (each a ``FINISH`` call or a ``retry`` one)."""
    args: list[Any] = [prefix, "1" if attempt > 1 else "0"]
    for script, head, values, deleted in calls:
        if script is retry:  # head: id, token, at
            args.extend(("r", head[0], head[1], "", head[2], len(values)))
        else:  # head: id, token, status, at
            args.extend(("f", *head, len(values)))
        for field, value in values.items():
            args.extend((field, value))
        deleted = list(deleted)
        args.append(len(deleted))
        args.extend(deleted)
    return args
