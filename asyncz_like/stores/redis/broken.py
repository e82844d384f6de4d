"""The broken records a store has seen, each remembered with a fingerprint of its bytes."""

from __future__ import annotations

import hashlib
import threading


def fingerprint(record: bytes) -> str:
    """SHA-1 of the record, hex: what Lua's ``redis.sha1hex`` computes on the server."""
    return hashlib.sha1(record, usedforsecurity=False).hexdigest()


class BrokenRecords:
    """Task id -> (fingerprint, reason), safe to use from several threads.

    A record is reported once per distinct bytes: the same broken bytes seen again are not
    reported again, while a record rewritten by anybody is decoded afresh.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, tuple[str, str]] = {}

    def note(self, task_id: str, record: bytes, reason: str) -> bool:
        """Remember a broken record; True when it was not known (so it is to be reported)."""
        entry = (fingerprint(record), reason)
        with self._lock:
            known = self._records.get(task_id)
            self._records[task_id] = entry
        return known is None or known[0] != entry[0]

    def forget(self, task_id: str) -> None:
        if task_id in self._records:
            with self._lock:
                self._records.pop(task_id, None)

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def reasons(self) -> dict[str, str]:
        with self._lock:
            return {task_id: reason for task_id, (_, reason) in self._records.items()}

    def exclusion_args(self) -> list[str]:
        """``[id, fingerprint, ...]``: the ARGV tail the claim and next-time scripts take."""
        with self._lock:
            return [item for task_id, (sha, _) in self._records.items() for item in (task_id, sha)]
