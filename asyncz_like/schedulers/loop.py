"""The scheduler's passes: one pass over the stores and the runs, and the wait after it."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import Protocol

from asyncz_like.clock import Clock
from asyncz_like.enums import SchedulerState
from asyncz_like.schedulers.clock_steps import StepHost, StepWatch, log_step, shift_intervals
from asyncz_like.schedulers.hand_over import PassHost
from asyncz_like.schedulers.plugins import Plugins
from asyncz_like.schedulers.processing import DueTaskProcessor
from asyncz_like.schedulers.run_side import RunSide

_RUNNING = SchedulerState.STATE_RUNNING


class LoopHost(PassHost, StepHost, Protocol):
    """The scheduler's state and the settings a pass reads (``setup()`` changes them)."""

    state: SchedulerState
    clock: Clock
    logger: logging.Logger
    batch_size: int
    claim_ahead: float
    max_wait: float
    lock_retry_interval: float
    lock_path: str | None


class SchedulerLoop:
    """What one pass of the loop does, whoever drives the loop: the due tasks of the stores
    (:class:`DueTaskProcessor`), the submitted runs, a step of the wall clock, and how long
    to wait before the next pass."""

    def __init__(self, host: LoopHost, plugins: Plugins, run_side: RunSide) -> None:
        self.host = host
        self.plugins = plugins
        self.run_side = run_side
        self.processor = DueTaskProcessor(host, plugins)
        self.steps = StepWatch()
        #: When the scheduler last started (by its clock).
        self.started_at: datetime | None = None

    def started(self) -> None:
        """The scheduler started: the clock may be another since the last start."""
        self.steps = StepWatch()
        self.started_at = self.host.clock.now()

    def write_deferred(self) -> None:
        """Write the releases held back until their fires start (at shutdown, or before the
        times they carry are moved): those fires were handed over."""
        try:
            self.processor.write_deferred()
        except Exception:
            self.host.logger.exception("Could not write the releases held back until fires started")

    def process(self, budget: int | None = None) -> float | None:
        """One pass: dispatch due work (one slice of it); return seconds until the next pass.

        At most ``budget`` due tasks (default ``batch_size``). 0 means more work is due now;
        None means nothing is scheduled (sleep until woken). The wait is computed from the
        clock read after the work, and capped at ``max_wait`` so that a jump of the wall clock
        is noticed.
        """
        if self.host.state != _RUNNING:
            return None
        now = self.host.clock.now()
        step = self.steps.step(self.host.clock, now)
        if step is not None:
            self._clock_stepped(step)
        # Stores that do I/O are claimed ``claim_ahead`` early: the executor waits for the
        # run time, so that the claim's round trips do not make every fire late.
        host = self.host
        ahead = host.claim_ahead if host.claim_ahead and self.plugins.any_store_io else 0.0
        horizon = now + timedelta(seconds=ahead) if ahead else now
        result = self.processor.process(now, budget or self.host.batch_size, horizon)
        # submitted runs: due, timed out, handed over
        runs_time = self.run_side.engine.process(now)
        if result.more:
            return 0.0
        # When the next pass is due: the next fire less ``claim_ahead``, a submitted run's
        # moment, or the start of a fire whose release is held back (written then). Claiming
        # ahead, a pass comes no sooner than half of ``claim_ahead`` after this one: when fires
        # are dense each pass then claims that much of them, not the few that entered the
        # window meanwhile, and each is still claimed that long before its run time at least.
        next_time, cap = self._next_fire_and_poll_cap(result.locked_out)
        # A store another process holds is tried again after lock_retry_interval.
        if result.locked_out:
            cap = min(cap, self.host.lock_retry_interval)
        spacing = ahead / 2
        # Besides the next fire, (moment, least wait): as a rule none. retry_at: a fire given
        # back, tried again by its run time.
        others: tuple[tuple[datetime | None, float], ...] = ()
        if runs_time or result.deferred_until or result.retry_at:
            others = ((runs_time, 0.0), (result.deferred_until, spacing), (result.retry_at, 0.0))
        if next_time is None and not others:
            return cap if self.host.lock_path is not None or cap < self.host.max_wait else None
        current = self.host.clock.now()
        wait = math.inf
        if next_time is not None:
            wait = max((next_time - current).total_seconds() - ahead, spacing)
        for moment, least in others:
            if moment is not None:
                wait = min(wait, max((moment - current).total_seconds(), least))
        return min(max(wait, 0.0), cap)

    def _clock_stepped(self, step: timedelta) -> None:
        """The wall clock stepped by ``step``: shift the interval tasks and the submitted
        runs' waits by as much."""
        self.write_deferred()  # held-back releases carry next run times from before the step
        log_step(step, shift_intervals(self.host, step))
        self.run_side.engine.shift_times(step)  # submitted runs: delays, retries and timeouts

    def _next_fire_and_poll_cap(self, skip: list[str]) -> tuple[datetime | None, float]:
        """The earliest next run time of the stores not in ``skip``, and the longest wait
        before the next pass: ``max_wait``, or less when a shared store is looked at every
        ``poll_interval`` for tasks other schedulers added. (One loop: every pass asks.)"""
        earliest: datetime | None = None
        cap = self.host.max_wait
        for alias, store in self.plugins.store_items:
            poll_interval = store.poll_interval
            if poll_interval and poll_interval < cap:
                cap = poll_interval
            if alias in skip:
                continue
            with self.plugins.store_guard(store):
                next_time = store.get_next_run_time()
            if next_time is not None and (earliest is None or next_time < earliest):
                earliest = next_time
        return earliest, cap
