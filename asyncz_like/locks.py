"""Locks that let one process (or one thread) at a time do a piece of work.

Every lock here offers the same small interface, the :class:`LockProtected` protocol: a
``protected(blocking, timeout)`` context manager that yields whether the lock was taken, and a
``shutdown()``. The scheduler wraps each store's work in one: :class:`FileLockProtected` when a
``lock_path`` is configured (one process per host works the store), :class:`NullLockProtected`
when not. :class:`ThreadLockProtected` and :class:`RLockProtected` guard within one process.

Unlike asyncz, where ``LockProtected`` is the ``threading.Lock`` variant and the protocol is
``LockProtectedProtocol``, here ``LockProtected`` is the protocol (``LockProtectedProtocol`` is
kept as an alias) and the ``threading.Lock`` variant is :class:`ThreadLockProtected`.

Example (a background loop that only one worker process runs)::

    file_lock = FileLockProtected(f"/tmp/asyncz_bg_{name}_{{pgrp}}.lock")
    with file_lock.protected(False) as got_the_lock:
        if got_the_lock:
            ...
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol, runtime_checkable

from filelock import FileLock, Timeout

__all__ = [
    "FileLockProtected",
    "LockProtected",
    "LockProtectedProtocol",
    "NullLockProtected",
    "RLockProtected",
    "ThreadLockProtected",
    "expand_lock_path",
]

logger = logging.getLogger(__name__)


@runtime_checkable
class LockProtected(Protocol):
    """What the scheduler needs from a lock.

    ``protected`` yields ``True`` when the lock was taken (and releases it on exit, also when
    the body raises) or ``False`` when it was not, in which case the body skips the protected
    work. ``blocking=False`` tries once and ignores ``timeout``; ``blocking=True`` waits
    ``timeout`` seconds, or for ever when ``timeout`` is ``None``. ``shutdown`` releases
    whatever the lock still holds.
    """

    def protected(
        self, blocking: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[bool]: ...

    def shutdown(self) -> None: ...


LockProtectedProtocol = LockProtected
"""asyncz's name for :class:`LockProtected`."""


def expand_lock_path(path: str) -> str:
    """Substitute ``{pgrp}``, ``{ppid}`` and ``{pid}`` in a lock path.

    Only these three placeholders are replaced (with :func:`str.replace`, not
    :meth:`str.format`), so any other braces, such as a ``{store}`` that the caller fills in
    itself, stay as they are. ``{pgrp}`` (the process group, shared by the workers of one
    gunicorn/uvicorn master) is not available on Windows.
    """
    if "{pgrp}" in path:
        path = path.replace("{pgrp}", str(_process_group()))
    if "{ppid}" in path:
        path = path.replace("{ppid}", str(os.getppid()))
    if "{pid}" in path:
        path = path.replace("{pid}", str(os.getpid()))
    return path


def _process_group() -> int:
    if sys.platform == "win32":
        raise ValueError("lock path placeholder '{pgrp}' needs process groups, which Windows lacks")
    return os.getpgrp()


class _Granted:
    """The block of a lock that is always free (one object for all: it holds no state)."""

    __slots__ = ()

    def __enter__(self) -> bool:
        return True

    def __exit__(self, *exc_info: object) -> None:
        return None


_GRANTED = _Granted()


class NullLockProtected:
    """A lock that is always free: ``protected()`` yields ``True`` and guards nothing."""

    def protected(
        self, blocking: bool = False, timeout: float | None = None
    ) -> AbstractContextManager[bool]:
        """Yield ``True``; the arguments are accepted for interface compatibility. (Every pass
        of the loop enters it per store: a plain object, not a generator, keeps that cheap.)"""
        return _GRANTED

    def shutdown(self) -> None:
        """Do nothing: there is nothing to release."""


class ThreadLockProtected:
    """A lock between the threads of one process, built on :class:`threading.Lock`.

    Not reentrant: a nested ``protected()`` in the same thread yields ``False`` (or, blocking
    without a timeout, deadlocks). Use :class:`RLockProtected` for a reentrant one.
    """

    def __init__(self) -> None:
        self.lock = self.create_lock()

    def create_lock(self) -> threading.Lock | threading.RLock:
        """Build the underlying lock; subclasses override it."""
        return threading.Lock()

    @contextmanager
    def protected(self, blocking: bool = False, timeout: float | None = None) -> Iterator[bool]:
        """Take the lock (see :class:`LockProtected`) and yield whether it was taken."""
        if blocking:
            acquired = self.lock.acquire(True, -1 if timeout is None else timeout)
        else:
            acquired = self.lock.acquire(False)
        try:
            yield acquired
        finally:
            if acquired:
                self.lock.release()

    def shutdown(self) -> None:
        """Do nothing: every ``protected()`` block releases its own acquisition."""


class RLockProtected(ThreadLockProtected):
    """Like :class:`ThreadLockProtected`, but reentrant within one thread."""

    def create_lock(self) -> threading.Lock | threading.RLock:
        """Build a :class:`threading.RLock`."""
        return threading.RLock()


class FileLockProtected:
    """A lock between processes on one host, held on a lock file with :mod:`filelock`.

    ``path`` may contain ``{pgrp}``, ``{ppid}`` and ``{pid}``; they are substituted once, here
    (see :func:`expand_lock_path`). Two processes, or two instances in one process, that use the
    same file exclude each other. One instance is reentrant: a nested ``protected()`` on the same
    instance is granted and the file is released when the outermost block exits.

    By default (``thread_local=False``) that reentrancy spans the threads of the process, so an
    acquisition may be released from another thread than the one that took it, as happens when
    a generator holding the lock across ``yield`` is resumed on a thread pool. With
    ``thread_local=True`` (filelock's own default) each thread has its own count, and a release
    from another thread does nothing.

    The lock file is left in place on release and on :meth:`shutdown`: deleting it would let a
    waiting process lock a file that a newcomer no longer sees.
    """

    def __init__(self, path: str, *, thread_local: bool = False) -> None:
        self.file_path = expand_lock_path(path)
        self._lock = FileLock(self.file_path, thread_local=thread_local)

    @property
    def is_locked(self) -> bool:
        """Whether this instance currently holds the lock file."""
        return self._lock.is_locked

    @contextmanager
    def protected(self, blocking: bool = False, timeout: float | None = None) -> Iterator[bool]:
        """Take the file lock and yield whether it was taken; release it on exit.

        ``blocking=False`` makes one attempt (``timeout`` is ignored). ``blocking=True`` waits
        ``timeout`` seconds, or without a limit when ``timeout`` is ``None``.
        """
        acquired = self._acquire(blocking, timeout)
        try:
            yield acquired
        finally:
            if acquired:
                self._lock.release()

    def _acquire(self, blocking: bool, timeout: float | None) -> bool:
        try:
            if blocking:
                self._lock.acquire(timeout=-1 if timeout is None else timeout)
            else:
                self._lock.acquire(blocking=False)
        except Timeout:
            logger.debug(
                "Lock file is held elsewhere",
                extra={"lock_path": self.file_path, "blocking": blocking, "timeout": timeout},
            )
            return False
        return True

    def shutdown(self) -> None:
        """Release the lock file if this instance still holds it, however deeply nested."""
        if self._lock.is_locked:
            self._lock.release(force=True)
            logger.debug("Lock file released at shutdown", extra={"lock_path": self.file_path})

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.file_path!r})"
