from __future__ import annotations

import pytest

from tests.helpers import FakeClock, ManualScheduler, manual_scheduler


@pytest.fixture
def scheduler(clock: FakeClock) -> ManualScheduler:
    """A started scheduler on the hand-moved clock (a module may define its own)."""
    started = manual_scheduler(clock)
    started.start()
    return started
