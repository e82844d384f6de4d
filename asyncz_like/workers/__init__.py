"""Workers: what takes runs and executes them.

:class:`Worker` claims runs from a broker's queues, in any process on any host (see
docs/workers.md).

The in-process run engine (queues in front of the executors, attempts, retries, timeouts,
cancellation), the ledger through which every run changes status, the recorder of the fires
of tasks, and the run history kept in a persistent store. The records themselves live in
:mod:`asyncz_like.runs`, below the executors that write them.
"""

from asyncz_like.workers.worker import Worker

__all__ = ["Worker"]
