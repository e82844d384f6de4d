from __future__ import annotations

import pytest
from argon2 import PasswordHasher, profiles
from starlette.applications import Starlette

from asyncz_like.dashboard import auth, create_dashboard
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler
from tests.unit.dashboard.helpers import users


@pytest.fixture
def scheduler(clock: FakeClock) -> ManualScheduler:
    started = manual_scheduler(clock)
    started.start()
    return started


@pytest.fixture
def app(scheduler: ManualScheduler) -> Starlette:
    return create_dashboard(scheduler, users(), secret_key="s" * 32)


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its cheapest here (seconds per test otherwise on a busy machine); one test
    checks the real parameters. A hash carries its parameters, so verifying stays cheap."""
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
