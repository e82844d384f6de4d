"""Login attempts, rate-limited per client address and per user name."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

#: Failures allowed per key within the window before further attempts are refused.
MAX_FAILURES = 5
WINDOW_SECONDS = 300.0
_MAX_KEYS = 10_000


class LoginThrottle:
    """Counts failed logins per key (``"ip:<address>"``, ``"user:<name>"``) over a sliding
    window; ``monotonic`` is injected so that tests move time by hand."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = WINDOW_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, *keys: str) -> float:
        """Seconds until any of ``keys`` may try again; 0 when all may try now."""
        now = self._monotonic()
        wait = 0.0
        with self._lock:
            for key in keys:
                times = self._recent(key, now)
                if len(times) >= self.max_failures:
                    wait = max(wait, times[0] + self.window - now)
        return wait

    def failed(self, *keys: str) -> None:
        now = self._monotonic()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._forget_old(now)
            for key in keys:
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def _forget_old(self, now: float) -> None:
        for key in list(self._failures):
            if not self._recent(key, now):
                del self._failures[key]
