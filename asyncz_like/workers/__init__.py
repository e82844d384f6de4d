"""Workers: what takes runs and executes them on an executor.

The in-process run engine (queues in front of the executors, attempts, retries, timeouts,
cancellation), the ledger through which every run changes status, the recorder of the fires
of tasks, and the run history kept in a persistent store. The records themselves live in
:mod:`asyncz_like.runs`, below the executors that write them.
"""
