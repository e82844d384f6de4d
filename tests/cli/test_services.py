"""The command line on PostgreSQL and Redis stores: nothing created by reading, and the
keys a scheduler uses found as that scheduler finds them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import fill, invoke
from tests.services import POSTGRES_URL, REDIS_HOST, REDIS_PORT, require_service

pytestmark = pytest.mark.service

#: A database of its own: the test uses the store's default run times key.
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/13"


@pytest.fixture
def token() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def postgres_table(token: str) -> Iterator[str]:
    require_service("postgresql")
    import sqlalchemy as sa

    name = f"t_cli_{token}"
    yield name
    engine = sa.create_engine(POSTGRES_URL)
    with engine.begin() as connection:
        for table in (name, f"{name}_slots", f"{name}_runs"):
            connection.execute(sa.text(f'DROP TABLE IF EXISTS "{table}"'))
    engine.dispose()


def has_table(name: str) -> bool:
    import sqlalchemy as sa

    engine = sa.create_engine(POSTGRES_URL)
    try:
        return sa.inspect(engine).has_table(name)
    finally:
        engine.dispose()


def test_postgresql_read_creates_no_table_then_works(postgres_table: str) -> None:
    where = ("--store", POSTGRES_URL, "--tablename", postgres_table)
    result = invoke("list", *where)
    assert result.exit_code == 1 and f"no table '{postgres_table}'" in result.stderr
    assert not has_table(postgres_table)
    fill({"type": "sqlalchemy", "database": POSTGRES_URL, "tablename": postgres_table})
    rows = json.loads(invoke("list", *where, "--json").stdout)
    assert sorted(row["id"] for row in rows) == ["five", "nightly"]
    assert invoke("pause", "five", *where).exit_code == 0
    assert "next run at" in invoke("resume", "five", *where).stdout


def test_an_unreachable_server_is_one_line() -> None:
    result = invoke("list", "--store", "postgresql+psycopg://postgres@127.0.0.1:9/test")
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "Connection refused" in result.stderr or "connection" in result.stderr.lower()


@pytest.fixture
def redis_client(token: str) -> Iterator[Any]:
    require_service("redis")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    yield client
    for key in client.scan_iter(f"test.{token}.*"):
        client.delete(key)
    client.zrem("asyncz_like.run_times", f"five-{token}", f"nightly-{token}")
    client.close()


def test_redis_with_only_the_tasks_key_set(redis_client: Any, token: str) -> None:
    """A scheduler that sets only tasks_key keeps run times under the default key: the
    command line reads and writes that key too (issue #21)."""
    tasks_key = f"test.{token}.tasks"
    config = {"type": "redis", "url": REDIS_URL, "tasks_key": tasks_key}
    from asyncz_like.schedulers import BackgroundScheduler
    from tests.cli.conftest import tick

    scheduler = BackgroundScheduler(stores={"default": config}, timezone="UTC")
    scheduler.start(paused=True)
    scheduler.add_task(tick, "interval", minutes=5, id=f"five-{token}")
    scheduler.shutdown()
    where = ("--store", REDIS_URL, "--tasks-key", tasks_key)
    [row] = json.loads(invoke("list", *where, "--json").stdout)
    assert row["state"] == "scheduled"
    assert invoke("pause", f"five-{token}", *where).exit_code == 0
    assert redis_client.zscore("asyncz_like.run_times", f"five-{token}") is None
    assert invoke("resume", f"five-{token}", *where).exit_code == 0
    assert redis_client.zscore("asyncz_like.run_times", f"five-{token}") is not None
    wrong = invoke("list", *where, "--run-times-key", f"test.{token}.elsewhere")
    assert "give its run_times_key" in wrong.stderr  # every task looks paused: said


def test_redis_read_creates_no_key(redis_client: Any, token: str) -> None:
    where = ("--store", REDIS_URL, "--tasks-key", f"test.{token}.tasks")
    where += ("--run-times-key", f"test.{token}.run_times")
    for command in ("list", "broken", "status"):
        assert invoke(command, *where).exit_code == 0
    assert f"no key 'test.{token}.tasks'" in invoke("list", *where).stderr
    assert invoke("pause", "nope", *where).exit_code == 1
    assert list(redis_client.scan_iter(f"test.{token}.*")) == []


def test_reading_a_broker_creates_nothing(
    postgres_table: str, redis_client: Any, token: str, tmp_path: Path
) -> None:
    postgres = tmp_path / "pg.json"
    postgres.write_text(
        json.dumps({"type": "sqlalchemy", "database": POSTGRES_URL, "tablename": postgres_table})
    )
    result = invoke("runs", "--broker", f"@{postgres}")
    assert result.exit_code == 1 and f"no table '{postgres_table}'" in result.stderr
    assert not has_table(postgres_table)
    redis_broker = tmp_path / "redis.json"
    redis_broker.write_text(
        json.dumps({"type": "redis", "url": REDIS_URL, "prefix": f"test.{token}"})
    )
    assert invoke("runs", "--broker", f"@{redis_broker}", "--json").stdout.strip() == "[]"
    assert invoke("stats", "--broker", f"@{redis_broker}").exit_code == 0
    assert list(redis_client.scan_iter(f"test.{token}*")) == []
