"""The run times of a fire whose release is held, which tell the scheduler when a worker took
it up.

A pass over stores that do I/O holds a fire's release (its next run time, written to the
store; or the deletion of a date task) until the fire has started, so that a scheduler killed
meanwhile leaves the fire to another one once its lease ends. That goes for a fire claimed
ahead of its run time and for one claimed at it (``claim_ahead=0``, or found due late). Started
means taken up by the executor: a worker thread, the event loop or a worker process's queue has
it, not merely that its run time has come, when it may still wait behind a full pool.

The scheduler hands such a fire over with :class:`AheadRunTimes` (a list, as any run times;
the name is kept from when only fires claimed ahead were held). Executors that report
take-ups (``BaseExecutor.reports_take_up``) mark it taken up at the hand-over when they have
room to start it at once (``BaseExecutor._take_up_at_once``), so that a due fire is released
by the pass that hands it over, and otherwise call :func:`take_up` where the fire leaves
their queue. For any other executor the hand-over is the take-up.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any


class AheadRunTimes(list[datetime]):
    """Run times of a fire whose release is held (claimed ahead, or due and handed over to
    an executor that reports take-ups); :meth:`taken_up` says whether it left the queue."""

    __slots__ = ("future", "waiting")

    def __init__(self, run_times: Iterable[datetime]) -> None:
        super().__init__(run_times)
        self.waiting = True
        #: A process pool's future of the fire: taken up once the pool moved it to its
        #: workers' queue (``running()``), or ran it.
        self.future: Any = None

    def taken_up(self) -> bool:
        """Whether the executor took the fire up (or will never take it: refused, failed)."""
        if not self.waiting:
            return True
        future = self.future
        return future is not None and (
            future.running() or (future.done() and not future.cancelled())
        )

    def __reduce__(self) -> Any:
        return list, (list(self),)  # crosses to a worker process as a plain list


def take_up(run_times: list[datetime]) -> None:
    """The executor took up the fire of ``run_times`` (nothing to do unless its release is
    held)."""
    if run_times.__class__ is AheadRunTimes:
        run_times.waiting = False
