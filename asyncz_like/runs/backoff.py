"""Exponential backoff with jitter between the attempts of a run."""

from __future__ import annotations

import functools
import random as random_module
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from asyncz_like.limits import check_number, check_seconds


@dataclass(frozen=True, slots=True)
class Backoff:
    """The wait before retry ``n`` (1 for the first retry) is
    ``min(max_delay, base * factor ** (n - 1))``, lengthened by up to ``jitter`` of itself:
    ``delay * (1 + jitter * random())``. ``random`` returns a float in [0, 1); pass your own
    in tests."""

    base: float = 1.0
    factor: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.1
    random: Callable[[], float] = field(default=random_module.random, compare=False)

    def __post_init__(self) -> None:
        """Every field a finite number >= 0 (factor >= 1); the delays no longer than the
        calendar (see :mod:`asyncz_like.limits`). ValueError naming the field otherwise."""
        for name in ("base", "max_delay"):
            check_seconds(getattr(self, name), f"Backoff.{name}", wrong_type=ValueError)
        check_number(self.factor, "Backoff.factor", minimum=1, wrong_type=ValueError)
        check_number(self.jitter, "Backoff.jitter", wrong_type=ValueError)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        exponent = max(retry - 1, 0)
        try:
            delay = min(self.max_delay, self.base * self.factor**exponent)
        except OverflowError:
            delay = self.max_delay
        return delay * (1 + self.jitter * self.random())


def as_backoff(value: Any) -> Backoff:
    """A Backoff from itself, or from a base delay in seconds or as a timedelta."""
    if isinstance(value, Backoff):
        return value
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"retry_backoff must be seconds, a timedelta or a Backoff, got {value!r}")
    return _backoff_of(float(check_seconds(value, "retry_backoff")))


def default_backoff() -> Backoff:
    """The default Backoff (``Backoff()``), one shared instance."""
    return _backoff_of(1.0)


@functools.lru_cache(maxsize=64)
def _backoff_of(base: float) -> Backoff:
    """One Backoff per base (it is immutable): every submit gives one, and building and
    checking a new one was a sixth of the CPU time of a run enqueued in a batch."""
    return Backoff(base=base)
