"""Run slots of the file store: slot ``i`` of a task is the lease file ``<name>.<i>.lease``.

A task with ``max_instances`` n has slots 0 to n - 1 in the ``.slots`` folder. Taking a slot
is creating its lease file (``O_CREAT | O_EXCL``, see ``_leases``), an expired one taken over
as a claim's lease is. The token names the slot and its holder: ``<i>.<32 hex>``; any store
instance on the directory releases or renews a slot by its token.
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from asyncz_like.stores.file._disk import read_file, write_atomic
from asyncz_like.stores.file._leases import Lease, Leases
from asyncz_like.stores.file._names import encode_name

#: Serializes release and renewal in this process: a renewal that read a lease just before
#: its release must not write it back afterwards (that would bring a freed slot back).
_RENEW_OR_RELEASE = threading.Lock()


class Slots:
    """The run slots in ``directory``, each living ``lease_seconds`` unless renewed."""

    def __init__(self, directory: Path, lease_seconds: float) -> None:
        self.directory = directory
        self.lease_seconds = lease_seconds

    def acquire(self, task_id: str, limit: int, now: float) -> str | None:
        name = encode_name(task_id)
        holder = uuid.uuid4().hex
        leases = Leases(self.directory, holder, self.lease_seconds)
        for index in range(limit):
            if isinstance(leases.claim(f"{name}.{index}", now), Lease):
                return f"{index}.{holder}"
        return None

    def release(self, task_id: str, token: str) -> None:
        slot, holder = self._parse(task_id, token)
        with _RENEW_OR_RELEASE:
            found = read_file(self.directory / f"{slot}.lease")
            if found is not None and _holder(found[0]) == holder:
                Leases(self.directory, holder, self.lease_seconds).remove_if(slot, found[0])

    def renew(self, task_id: str, token: str, now: float) -> None:
        slot, holder = self._parse(task_id, token)
        path = self.directory / f"{slot}.lease"
        with _RENEW_OR_RELEASE:
            found = read_file(path)
            if found is None or _holder(found[0]) != holder:  # released, or expired and taken
                return
            lease = json.loads(found[0])
            if float(lease["until"]) <= now:
                return
            lease["until"] = now + self.lease_seconds
            write_atomic(path, json.dumps(lease).encode())

    @staticmethod
    def _parse(task_id: str, token: str) -> tuple[str, str]:
        index, _, holder = token.partition(".")
        return f"{encode_name(task_id)}.{index}", holder


def _holder(content: bytes) -> str | None:
    try:
        owner = json.loads(content)["owner"]
    except (ValueError, KeyError, TypeError):
        return None
    return owner if isinstance(owner, str) else None
