"""MariaDB and SQLite look for expired leases (the sweep) at most once per interval of the
claims' own clock, not on every claim; a killed worker's run still comes back within it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker, claims
from asyncz_like.brokers.sqlalchemy.claims import SweepSchedule
from tests.brokers.backends import BrokerBackend, made_backend
from tests.brokers.test_contract import at, envelope, ids
from tests.helpers import START


@pytest.fixture(params=["sqlite", "mariadb"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLAlchemyBroker]:
    made: BrokerBackend
    with made_backend(request.param, tmp_path) as made:
        broker = made.make()
        assert isinstance(broker, SQLAlchemyBroker)
        yield broker


class Sweeps:
    """Counts the sweeps (the read of expired leases) an engine runs."""

    def __init__(self, engine: sa.Engine) -> None:
        self.count = 0
        sa.event.listen(engine, "before_cursor_execute", self.seen)

    def seen(self, connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.count += "lease_until <=" in statement


def test_a_claim_within_the_interval_does_not_sweep_and_one_after_does(
    broker: SQLAlchemyBroker,
) -> None:
    sweeps = Sweeps(broker.db.engine)
    broker.enqueue([envelope("lost"), envelope("other")])
    assert ids(broker.claim("w1", ["default"], 1, at(0), lease_seconds=10)) == ["lost"]
    assert sweeps.count == 1  # the first claim sweeps
    assert ids(broker.claim("w2", ["default"], 1, at(0.5), lease_seconds=10)) == ["other"]
    assert sweeps.count == 1  # within a second of the last sweep
    assert broker.claim("w3", ["default"], 1, at(9.5), lease_seconds=10) == []
    assert sweeps.count == 2  # a second after: it sweeps (nothing expired yet)
    assert broker.claim("w3", ["default"], 1, at(10.2), lease_seconds=10) == []
    assert sweeps.count == 2  # "lost" expired at 10, but the last sweep was at 9.5
    (again,) = broker.claim("w3", ["default"], 1, at(10.5), lease_seconds=10)
    assert sweeps.count == 3 and again.run_id == "lost" and again.token == 2
    assert broker.claim("w3", ["other"], 1, at(10.6), lease_seconds=10) == []
    assert sweeps.count == 4  # each set of queues has its own schedule


def test_a_sweep_that_hit_its_limit_is_followed_by_another_at_once(
    broker: SQLAlchemyBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(claims, "SWEEP_LIMIT", 3)
    sweeps = Sweeps(broker.db.engine)
    broker.enqueue([envelope(f"r{index}") for index in range(5)])
    assert len(broker.claim("dead", ["default"], 5, at(0), lease_seconds=10)) == 5
    assert len(broker.claim("w", ["default"], 5, at(10), lease_seconds=10)) == 3
    assert len(broker.claim("w", ["default"], 5, at(10.1), lease_seconds=10)) == 2
    assert sweeps.count == 3  # the second found 3 (the limit): the third swept at once
    assert broker.claim("w", ["default"], 5, at(10.2), lease_seconds=10) == []
    assert sweeps.count == 3  # the third found fewer: back to once a second


def test_the_interval_is_a_quarter_of_a_short_lease_and_a_step_back_sweeps() -> None:
    schedule = SweepSchedule(interval=1.0)
    queues = ("default",)
    assert schedule.due(queues, START, lease_seconds=2)
    assert not schedule.due(queues, at(0.49), lease_seconds=2)
    assert schedule.due(queues, at(0.5), lease_seconds=2)  # 2 / 4
    assert not schedule.due(queues, at(1.4), lease_seconds=30)
    assert schedule.due(queues, at(1.5), lease_seconds=30)  # at most 1 s
    assert schedule.due(queues, at(1), lease_seconds=30)  # the clock stepped back
    assert not schedule.due(queues, at(1.9), lease_seconds=30)
