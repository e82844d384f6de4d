"""Run history in the scheduler's persistent store (SQL or Redis), so that runs survive a
restart and pending work is kept for the next start.

:func:`history_for_store` builds the history for a store, or returns None for a store that
does not keep runs (memory, file). The store says where its runs go (``run_store()``).
"""

from __future__ import annotations

from typing import Any

from asyncz_like.runs.run import UnstoredResult
from asyncz_like.stores.base import BaseStore
from asyncz_like.stores.runs import RunRow, RunStore
from asyncz_like.workers.persistent.codec import KeptWork
from asyncz_like.workers.persistent.stored_history import StoredRunHistory

__all__ = [
    "KeptWork",
    "RunRow",
    "RunStore",
    "StoredRunHistory",
    "UnstoredResult",
    "history_for_store",
    "run_store_for",
]


def run_store_for(store: BaseStore | None) -> RunStore | None:
    """Where ``store`` keeps run records beside its tasks (its ``run_store()``); None for a
    store that keeps none."""
    return None if store is None else store.run_store()


def history_for_store(store: BaseStore | None, **limits: Any) -> StoredRunHistory | None:
    """A :class:`StoredRunHistory` in ``store`` with these limits (``max_run_history``,
    ``run_result_ttl``, ``flush_interval``), or None when ``store`` does not keep runs."""
    backend = run_store_for(store)
    return None if backend is None else StoredRunHistory(backend, **limits)
