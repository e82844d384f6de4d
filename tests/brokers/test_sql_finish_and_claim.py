"""The SQL broker's ``finish_and_claim``: one statement on PostgreSQL, one transaction (one
COMMIT) on MariaDB and SQLite; the whole tried again when it fails transiently, the ends
recorded alone when it fails otherwise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from asyncz_like.brokers import Finish
from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker, claiming
from asyncz_like.runs import RunStatus
from tests.brokers.backends import made_backend
from tests.brokers.test_contract import ERROR, at, envelope, ids
from tests.brokers.test_sqlalchemy import SQL_BACKENDS


@pytest.fixture(params=[*SQL_BACKENDS, "mariadb-mysqlclient"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLAlchemyBroker]:
    with made_backend(request.param, tmp_path) as made:
        broker = made.make()
        assert isinstance(broker, SQLAlchemyBroker)
        yield broker


class Trips:
    """Counts the statements and the COMMITs an engine sends meanwhile."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements = self.commits = 0
        self.texts: list[str] = []
        self.engine = engine
        sa.event.listen(engine, "before_cursor_execute", self._statement)
        sa.event.listen(engine, "commit", self._commit)

    def _statement(self, connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements += 1
        self.texts.append(statement)

    def _commit(self, *args: Any) -> None:
        self.commits += 1

    def __enter__(self) -> Trips:
        return self

    def __exit__(self, *args: Any) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._statement)
        sa.event.remove(self.engine, "commit", self._commit)


def held(broker: SQLAlchemyBroker, count: int, waiting: int) -> list[Finish]:
    """Ends of ``count`` runs claimed, with ``waiting`` more runs due."""
    broker.enqueue([envelope(f"r{i:02}", max_retries=1) for i in range(count + waiting)])
    # a first claim: MariaDB and SQLite sweep here, not in the calls counted
    deliveries = broker.claim("w", ["default"], count, at(0), lease_seconds=60)
    return [Finish.completed(d.run_id, d.token, None, at(1)) for d in deliveries]


def test_the_ends_and_the_claim_cost_one_statement_or_one_commit(
    broker: SQLAlchemyBroker,
) -> None:
    ends = held(broker, 6, 6)
    with Trips(broker.db.engine) as apart:
        assert broker.finish_many(ends[:3]) == [True] * 3
        assert ids(broker.claim("w", ["default"], 3, at(1))) == ["r06", "r07", "r08"]
    with Trips(broker.db.engine) as together:
        answers, deliveries = broker.finish_and_claim(ends[3:], "w", ["default"], 3, at(1))
    assert answers == [True] * 3 and ids(deliveries) == ["r09", "r10", "r11"]
    if broker.db.is_postgresql:  # autocommit: no COMMIT of ours
        assert (apart.statements, together.statements) == (2, 1)
    else:
        assert (apart.commits, together.commits) == (2, 1)
    assert {run.status for run in broker.list_runs()} == {RunStatus.COMPLETED, RunStatus.RUNNING}


def test_a_retry_due_at_once_goes_apart_on_postgresql_so_the_claim_sees_it(
    broker: SQLAlchemyBroker,
) -> None:
    if not broker.db.is_postgresql:
        pytest.skip("one transaction elsewhere: the claim sees the ends")
    (end,) = held(broker, 1, 1)
    retried = Finish.retried(end.run_id, end.token, ERROR, at(1))
    with Trips(broker.db.engine) as trips:
        answers, deliveries = broker.finish_and_claim([retried], "w", ["default"], 2, at(1))
    assert answers == [True]
    assert [(d.run_id, d.token) for d in deliveries] == [("r01", 1), ("r00", 2)]  # by due
    assert trips.statements == 2  # the ends, then the claim
    later = Finish.retried("r00", 2, ERROR, at(60))
    with Trips(broker.db.engine) as trips:
        assert broker.finish_and_claim([later], "w", ["default"], 2, at(2)) == ([True], [])
    assert trips.statements == 1  # together, nothing due (no lease expired: no sweep)


@pytest.mark.parametrize("fast_commits", [True, False])
def test_on_postgresql_the_statement_waits_for_the_disk_as_the_calls_it_replaces(
    fast_commits: bool, tmp_path: Path
) -> None:
    with made_backend("postgresql", tmp_path) as made:
        broker = made.make(fast_commits=fast_commits)
        assert isinstance(broker, SQLAlchemyBroker)
        ends = held(broker, 2, 2)
        with Trips(broker.db.engine) as trips:
            answers, deliveries = broker.finish_and_claim(ends, "w", ["default"], 2, at(1))
        assert answers == [True, True] and ids(deliveries) == ["r02", "r03"]
        (statement,) = trips.texts
        assert ("synchronous_commit" in statement) is fast_commits


def test_a_claim_failing_otherwise_than_transiently_leaves_the_ends_recorded_alone(
    broker: SQLAlchemyBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    ends = held(broker, 2, 2)
    if broker.db.is_postgresql:  # the one statement fails: neither part is made
        monkeypatch.setattr(claiming, "_statement", lambda *args: sa.text("SELECT 1 / 0"))
    else:  # the claim fails after the ends, in their transaction

        def broken(*args: Any) -> Any:
            raise RuntimeError("claim broken")

        monkeypatch.setattr(claiming, "_claim_in", broken)
    answers, deliveries = broker.finish_and_claim(ends, "w", ["default"], 2, at(1))
    assert answers == [True, True] and deliveries == []
    assert [run.status for run in broker.list_runs(status=RunStatus.COMPLETED)] == [
        RunStatus.COMPLETED
    ] * 2
    monkeypatch.undo()
    assert ids(broker.claim("w", ["default"], 5, at(2))) == ["r02", "r03"]


def test_a_transient_failure_tries_the_whole_transaction_again(
    broker: SQLAlchemyBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    if broker.db.is_postgresql:
        pytest.skip("one statement: it fails whole")
    ends = held(broker, 2, 2)
    claim_in, failures = claiming._claim_in, [sa.exc.DisconnectionError("lost")]

    def failing_once(*args: Any) -> Any:
        if failures:
            raise failures.pop()  # after the ends, in their transaction
        return claim_in(*args)

    monkeypatch.setattr(claiming, "_claim_in", failing_once)
    answers, deliveries = broker.finish_and_claim(ends, "w", ["default"], 2, at(1))
    assert not failures
    # the first try's ends were rolled back with it: the second found the runs still held
    assert answers == [True, True] and ids(deliveries) == ["r02", "r03"]
