"""Crash-safe file writes: a temp file in the same directory, fsync, rename, fsync the directory.

A reader sees the old record or the new one, never a part of one. A crash can leave a temp
file behind (``.<name>.<12 hex>.tmp``); readers skip names that start with a dot, and
:func:`remove_stale` deletes such leftovers once they are older than a minute.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from pathlib import Path

#: Temp files and lease tombstones we make, so that cleaning never touches anything else.
_LEFTOVER = re.compile(r"\..+\.[0-9a-f]{12}\.(?:tmp|stale)")
STALE_SECONDS = 60.0


#: What tells one version of a file from another without reading it: (inode, mtime_ns, size).
#: A plain tuple: a refresh builds one per file, and compares them, 10,000 at a time.
Stat = tuple[int, int, int]


def stat_key(result: os.stat_result) -> Stat:
    return (result.st_ino, result.st_mtime_ns, result.st_size)


def token() -> str:
    return uuid.uuid4().hex[:12]


def read_file(path: Path) -> tuple[bytes, Stat] | None:
    """The bytes of ``path`` and the stat of that very version (None when there is none)."""
    try:
        with open(path, "rb") as handle:
            key = stat_key(os.fstat(handle.fileno()))
            return handle.read(), key
    except (FileNotFoundError, IsADirectoryError):
        return None


def write_atomic(path: Path, data: bytes, *, exclusive: bool = False) -> Stat:
    """Make ``path`` hold ``data`` in one step; return the stat of the version written.

    ``exclusive``: FileExistsError when ``path`` exists (a hard link never replaces a file;
    where links are not supported, a check then a rename).
    """
    temp = path.with_name(f".{path.name}.{token()}.tmp")
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            key = stat_key(os.fstat(handle.fileno()))  # a rename keeps inode, mtime and size
        if exclusive:
            _link_or_rename(temp, path)
        else:
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    fsync_directory(path.parent)
    return key


def _link_or_rename(temp: Path, path: Path) -> None:
    try:
        os.link(temp, path)
    except FileExistsError:
        raise
    except OSError:  # no hard links on this file system
        if path.exists():
            raise FileExistsError(path) from None
        os.replace(temp, path)


def fsync_directory(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale(directory: Path, max_age: float = STALE_SECONDS) -> int:
    """Delete our temp files and lease tombstones older than ``max_age`` seconds."""
    removed = 0
    limit = time.time() - max_age
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if not _LEFTOVER.fullmatch(entry.name):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime < limit:
                os.unlink(entry.path)
                removed += 1
        except FileNotFoundError:
            continue
    return removed
