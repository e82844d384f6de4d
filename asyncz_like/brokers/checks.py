"""Checks on what a broker's methods are given, shared by every broker."""

from __future__ import annotations

from collections.abc import Iterable

from asyncz_like.brokers.base import FAIL_STATUSES
from asyncz_like.brokers.records import Envelope
from asyncz_like.brokers.records import check_claim as check_claim
from asyncz_like.runs.run import check_percent
from asyncz_like.runs.status import RunStatus

# check_claim is defined in records.py, below base.py, so that BaseBroker.finish_and_claim
# uses it too; the plugins still import it from here with the other checks.


def check_fail_status(status: RunStatus | str) -> RunStatus:
    """FAILED, TIMEOUT or CANCELLED; ValueError naming ``status`` otherwise."""
    value = RunStatus(status)
    if value not in FAIL_STATUSES:
        raise ValueError(f"status must be failed, timeout or cancelled, got status={status!r}")
    return value


def check_percent_message(percent: float, message: str | None) -> float:
    """The progress as a float in 0..100, with an optional string message."""
    if message is not None and not isinstance(message, str):
        raise TypeError(f"message must be a string or None, got message={message!r}")
    return check_percent(percent, "percent")


def firsts_of(envelopes: Iterable[Envelope]) -> tuple[list[Envelope], list[bool]]:
    """The first envelope of each run id, in order; and, for each envelope given, whether it
    is the first of its run id (a repeat within one enqueue is not added: False)."""
    unique: list[Envelope] = []
    firsts: list[bool] = []
    seen: set[str] = set()
    for envelope in envelopes:
        if not isinstance(envelope, Envelope):
            raise TypeError(f"enqueue takes Envelopes, got {envelope!r}")
        firsts.append(envelope.run_id not in seen)
        if firsts[-1]:
            seen.add(envelope.run_id)
            unique.append(envelope)
    return unique, firsts
