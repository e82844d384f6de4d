"""Many deliveries of the Redis broker ended in one round trip: the arguments of one
``FINISH_MANY`` script call for what the ``FINISH`` and ``RETRY`` scripts do one at a time."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from asyncz_like.brokers.checks import check_fail_status
from asyncz_like.brokers.codec import encode_result
from asyncz_like.brokers.records import Finish, check_aware
from asyncz_like.brokers.redis.layout import error_fields, time_hex
from asyncz_like.runs.status import RunStatus

if TYPE_CHECKING:
    from asyncz_like.serializers.base import BaseSerializer
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


def held_call_of(
    finish: Finish, serializer: BaseSerializer, finish_script: RunnableScript,
    retry_script: RunnableScript,
) -> HeldCall:  # fmt: skip
    """The ``FINISH`` or ``RETRY`` call that records ``finish``."""
    if not isinstance(finish, Finish):
        raise TypeError(f"finish_many takes Finishes, got {finish!r}")
    at = time_hex(check_aware(finish.at, "at" if finish.status is RunStatus.RETRYING else "now"))
    if finish.status is RunStatus.COMPLETED:
        done = {"res": encode_result(finish.result, serializer), "pg": "100.0"}
        return finish_script, [finish.run_id, str(finish.token), "completed", at], done, ()
    if finish.error is None:
        raise TypeError(f"a {finish.status.value} Finish needs an error, got {finish!r}")
    values, deleted = error_fields(finish.error)
    if finish.status is RunStatus.RETRYING:
        return retry_script, [finish.run_id, str(finish.token), at], values, deleted
    status = check_fail_status(finish.status).value
    return finish_script, [finish.run_id, str(finish.token), status, at], values, deleted


def progress_args(run_id: str, token: int, percent: float, message: str | None) -> list[Any]:
    """The ``PROGRESS`` script's ARGV after the prefix: a None message deletes the last one."""
    values: dict[str, Any] = {"pg": repr(percent)}
    if message is not None:
        values["msg"] = message
    args: list[Any] = [run_id, str(token), len(values)]
    for field, value in values.items():
        args.extend((field, value))
    if message is None:
        args.append("msg")
    return args
