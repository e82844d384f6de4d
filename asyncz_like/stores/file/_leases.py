"""Claims on tasks: one lease file per claimed task, made with ``O_CREAT | O_EXCL``.

Creating the file is the claim: of several store instances (threads, processes) that try at
once, exactly one succeeds. The file holds the owner and ``until`` (epoch seconds). An expired
lease is taken over by moving it aside (an atomic rename to a unique tombstone), checking that
what was moved is the expired lease that was read, and creating a fresh one; a lease moved by
mistake (renewed in between) is put back. One interleaving of three claimers on one expired
lease can still let two of them win; the scheduler's ``lock_path`` (one process per host
works the store) and the store's own thread lock rule it out. See docs/store-file.md.
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import NamedTuple

from asyncz_like.stores.file._disk import read_file, token


class Lease(NamedTuple):
    """A lease taken: the lease file's exact bytes, and the end of the expired lease it
    replaced (None when the task was free)."""

    content: bytes
    took_over: float | None


_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


class Leases:
    """The lease files of one store instance (``owner``), in ``directory``."""

    def __init__(self, directory: Path, owner: str, lease_seconds: float) -> None:
        self.directory = directory
        self.owner = owner
        self.lease_seconds = lease_seconds
        self._host = socket.gethostname()

    def path(self, name: str) -> Path:
        return self.directory / f"{name}.lease"

    def claim(self, name: str, now: float) -> Lease | float:
        """Our new lease, or the epoch time until which another one holds.

        A lease of our own that is still live also counts as held: a claimed task is handed
        out once until it is released or its lease expires.
        """
        expired: float | None = None
        content = json.dumps(
            {
                "owner": self.owner,
                "until": now + self.lease_seconds,
                "pid": os.getpid(),
                "host": self._host,
            },
        ).encode()
        path = self.path(name)
        for _ in range(3):
            try:
                fd = os.open(path, _FLAGS, 0o644)
            except FileNotFoundError:  # the leases folder is gone: make it again
                try:
                    self.directory.mkdir(
                        self.directory.parent.stat().st_mode & 0o777, exist_ok=True
                    )
                except FileNotFoundError:  # and the store's directory with it
                    return now
                continue
            except FileExistsError:
                found = read_file(path)
                if found is None:  # released in the meantime: try again
                    continue
                until = self._until(found[0], path, now)
                if until > now or not self.remove_if(name, found[0]):
                    return max(until, now)
                expired = until or None  # 0.0: unreadable, not a lease that was held
                continue
            try:
                os.write(fd, content)  # a few dozen bytes: one write
            except BaseException:
                os.close(fd)
                path.unlink(missing_ok=True)
                raise
            os.close(fd)
            return Lease(content, expired)
        return now

    def renew(self, name: str, lease: bytes, now: float) -> bytes | None:
        """Our lease ``lease`` of ``name`` made to end at ``now + lease_seconds``: the new
        content, or None when the lease is no longer ours. Renewed long before it ends, so no
        other claimer can have taken it between the check and the replace."""
        if not self.holds(name, lease):
            return None
        content = json.dumps(
            {
                "owner": self.owner,
                "until": now + self.lease_seconds,
                "pid": os.getpid(),
                "host": self._host,
            },
        ).encode()
        path = self.path(name)
        temporary = self.directory / f".{path.name}.{token()}.new"
        temporary.write_bytes(content)
        os.replace(temporary, path)
        return content

    def holds(self, name: str, lease: bytes) -> bool:
        """Whether the lease file of ``name`` is still exactly ``lease`` (ours, not taken)."""
        found = read_file(self.path(name))
        return found is not None and found[0] == lease

    def remove_if(self, name: str, expected: bytes) -> bool:
        """Remove the lease of ``name`` only when it holds ``expected``; True when removed."""
        path = self.path(name)
        tomb = self.directory / f".{path.name}.{token()}.stale"
        try:
            os.rename(path, tomb)
        except FileNotFoundError:
            return False
        found = read_file(tomb)
        if found is not None and found[0] == expected:
            tomb.unlink(missing_ok=True)
            return True
        _put_back(tomb, path)  # it was renewed or taken over in between: not ours to remove
        return False

    def discard(self, name: str) -> None:
        """Remove the lease of ``name`` whoever holds it (its task was deleted)."""
        self.path(name).unlink(missing_ok=True)

    def _until(self, content: bytes, path: Path, now: float) -> float:
        """When a lease ends. An empty or unreadable one is being written, or its writer died
        between creating and writing it: it counts as live for ``lease_seconds`` after the
        file's modification time (the real clock; no injected clock can see that file), and
        is looked at again a second later."""
        try:
            return float(json.loads(content)["until"])
        except (ValueError, KeyError, TypeError):
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                return 0.0
            return 0.0 if age > self.lease_seconds else now + min(self.lease_seconds, 1.0)


def _put_back(tomb: Path, path: Path) -> None:
    try:
        os.link(tomb, path)  # never replaces a lease made in the meantime
    except FileExistsError:
        pass
    except OSError:  # no hard links on this file system
        if not path.exists():
            os.replace(tomb, path)
            return
    tomb.unlink(missing_ok=True)
