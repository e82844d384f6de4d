"""``runs``, ``stats``, ``workers`` and ``retry`` on a SQLite broker, from --broker or from
the app's scheduler."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asyncz_like.brokers import WorkerInfo, make_broker
from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker
from asyncz_like.runs import RunError
from asyncz_like.schedulers import BackgroundScheduler
from tests.cli.conftest import invoke, tick

HOUR = timedelta(hours=1)


def submitted(tmp_path: Path, count: int) -> tuple[str, list[str]]:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    scheduler = BackgroundScheduler(broker=url, timezone="UTC")
    ids = [scheduler.submit(tick, queue="mail" if n % 2 else "default").id for n in range(count)]
    assert scheduler.broker is not None
    scheduler.broker.shutdown()
    return url, ids


def test_runs_lists_the_runs_of_a_broker(tmp_path: Path) -> None:
    url, ids = submitted(tmp_path, 3)
    rows = json.loads(invoke("runs", "--broker", url, "--json").stdout)
    assert sorted(row["id"] for row in rows) == sorted(ids)
    assert {row["status"] for row in rows} == {"pending"}
    mail = json.loads(invoke("runs", "--broker", url, "--queue", "mail", "--json").stdout)
    assert [row["queue"] for row in mail] == ["mail"]
    table = invoke("runs", "--broker", url).stdout
    assert table.split()[:4] == ["id", "name", "queue", "status"] and ids[0] in table
    assert json.loads(invoke("runs", "--broker", url, "--status", "failed", "--json").stdout) == []


def test_stats_counts_by_queue(tmp_path: Path) -> None:
    url, _ = submitted(tmp_path, 3)
    rows = {
        row["queue"]: row for row in json.loads(invoke("stats", "--broker", url, "--json").stdout)
    }
    assert (rows["default"]["waiting"], rows["mail"]["waiting"]) == (2, 1)


def test_runs_follow_draws_a_bar_per_unfinished_run(tmp_path: Path) -> None:
    url, _ = submitted(tmp_path, 2)
    result = invoke("runs", "--broker", url, "--follow", "--seconds", "0.2", "--interval", "0.05")
    assert result.exit_code == 0, result.output
    assert result.stdout.count("tick [pending]") >= 2


def test_the_broker_of_the_app(tmp_path: Path, app_module: str) -> None:
    url, ids = submitted(tmp_path, 1)
    (tmp_path / "with_broker.py").write_text(
        "from asyncz_like.schedulers import BackgroundScheduler\n"
        f"scheduler = BackgroundScheduler(broker={url!r})\n"
    )
    rows = json.loads(invoke("runs", "--app", "with_broker", "--json").stdout)
    assert [row["id"] for row in rows] == ids
    result = invoke("runs", "--app", f"{app_module}:scheduler")
    assert result.exit_code == 2 and "has no broker" in result.stderr
    assert invoke("runs").exit_code == 2
    sys.modules.pop("with_broker", None)


def test_reading_runs_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "none.db"
    for command in ("runs", "stats", "workers"):
        result = invoke(command, "--broker", f"sqlite:///{path}")
        assert result.exit_code == 1 and "no SQLite file" in result.stderr
    assert not path.exists()


def test_workers_lists_the_workers_of_a_broker(tmp_path: Path) -> None:
    url, _ = submitted(tmp_path, 1)
    broker = make_broker(url)
    broker.start()
    now = datetime.now(UTC)
    try:
        for worker_id, host, seen in [("w-alive", "a", now), ("w-gone", "b", now - HOUR)]:
            info = WorkerInfo(worker_id, host, 42, ("default", "mail"), 8, now - HOUR, seen,
                              busy=3)  # fmt: skip
            broker.register_worker(info, seen)
        broker.heartbeat_worker("w-alive", 3, now)
    finally:
        broker.shutdown()
    rows = json.loads(invoke("workers", "--broker", url, "--json").stdout)
    assert [(row["worker_id"], row["alive"], row["busy"]) for row in rows] == [
        ("w-alive", True, 3), ("w-gone", False, 3)]  # fmt: skip
    assert rows[0]["queues"] == ["default", "mail"] and rows[0]["concurrency"] == 8
    assert rows[1]["heartbeat_age"] >= 3600
    lines = invoke("workers", "--broker", url).stdout.splitlines()
    assert lines[0].split()[:3] == ["worker", "state", "host"]
    assert lines[1].split()[:6] == ["w-alive", "alive", "a", "42", "default,mail", "3/8"]
    assert lines[2].split()[:7] == ["w-gone", "gone", "b", "42", "default,mail", "3/8", "1"]
    assert "h ago" in lines[2]


def test_workers_of_a_broker_no_worker_ever_used(tmp_path: Path) -> None:
    url, _ = submitted(tmp_path, 1)
    assert json.loads(invoke("workers", "--broker", url, "--json").stdout) == []
    assert invoke("workers", "--broker", url).stdout.strip() == "(none)"


def test_retry_submits_an_ended_run_again(tmp_path: Path) -> None:
    url, (first, second) = submitted(tmp_path, 2)
    broker = SQLAlchemyBroker(database=url)
    broker.start()
    try:
        (delivery,) = broker.claim("w", ["default"], 1, datetime.now(UTC))
        assert delivery.run_id == first
        broker.fail(first, delivery.token, RunError("ValueError", "boom"), datetime.now(UTC))
        result = invoke("retry", first, "--broker", url, "--json")
        assert result.exit_code == 0, result.output
        row = json.loads(result.stdout)
        assert row["retry_of"] == first and row["status"] == "pending" and row["id"] != first
        assert row["name"] == "tick" and row["queue"] == "default"
        call = broker.get_envelope(row["id"])
        assert call is not None and call.headers == {"retry_of": first}
        assert call.target == "tests.cli.conftest:tick"
        again = invoke("retry", first, "--broker", url)
        assert again.exit_code == 0 and again.stdout.startswith(f"retried {first} as ")
        refused = invoke("retry", second, "--broker", url)
        assert refused.exit_code == 1
        assert "cannot retry a run that is pending" in refused.stderr
        unknown = invoke("retry", "no-such-run", "--broker", url)
        assert unknown.exit_code == 1 and "RunLookupError" in unknown.stderr
        assert len(broker.list_runs()) == 4  # two retries; the refusals added nothing
    finally:
        broker.shutdown()
