"""list, inspect, preview, broken, status: what they show, and that they create nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from tests.cli.conftest import invoke
from tests.store_hooks import overwrite_record


def test_list_shows_the_tasks_as_a_table_and_as_json(sqlite_url: str) -> None:
    result = invoke("list", "--store", sqlite_url)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "name", "function", "trigger", "next", "run", "store"]
    assert "tests.cli.conftest:tick" in result.stdout
    assert "cron[hour='2']" in result.stdout  # no markup eaten by the table
    assert all(line == line.rstrip() for line in lines)
    rows = json.loads(invoke("list", "--store", sqlite_url, "--json").stdout)
    assert {row["id"]: row["state"] for row in rows} == dict.fromkeys(
        ["five", "nightly"], "scheduled"
    )
    assert rows == json.loads(invoke("--json", "tasks", "--store", sqlite_url).stdout)  # alias


def test_list_needs_no_function(sqlite_url: str, tmp_path: Path) -> None:
    """A record whose function does not import here (a script's __main__, a module the
    command line cannot import) is listed with its reference, not as broken."""
    store = SQLAlchemyStore(database=sqlite_url)
    table = store.database.table
    [(state,)] = store.database.read(sa.select(table.c.state).where(table.c.id == "five"))
    # the same record, with a function no process can import
    overwrite_record(store, "five", state.replace(b"tests.cli.conftest:tick", b"__main__:gone"))
    store.shutdown()
    result = invoke("list", "--store", sqlite_url)
    assert result.exit_code == 0 and "__main__:gone" in result.stdout
    assert "broken" not in result.output
    assert invoke("broken", "--store", sqlite_url).stdout.strip() == "(none)"
    assert invoke("inspect", "five", "--store", sqlite_url).exit_code == 0


def test_inspect_and_preview(sqlite_url: str) -> None:
    result = invoke("inspect", "nightly", "--store", sqlite_url, "--json")
    row = json.loads(result.stdout)
    assert row["trigger"] == "cron[hour='2']" and row["args"] == [] and row["coalesce"] is True
    result = invoke("preview", "nightly", "-n", "3", "--store", sqlite_url, "--json")
    times = json.loads(result.stdout)
    assert len(times) == 3 and all(time.endswith("T02:00:00+00:00") for time in times)
    assert "fire time" in invoke("preview", "nightly", "--store", sqlite_url).stdout
    missing = invoke("inspect", "nope", "--store", sqlite_url)
    assert missing.exit_code == 1 and "'nope'" in missing.stderr


def test_broken_records_are_listed_with_their_reason(sqlite_url: str) -> None:
    store = SQLAlchemyStore(database=sqlite_url)
    overwrite_record(store, "nightly", b"\x00garbage")
    store.shutdown()
    result = invoke("broken", "--store", sqlite_url)
    assert result.exit_code == 0 and "nightly" in result.stdout and "five" not in result.stdout
    assert "1 broken record" in invoke("list", "--store", sqlite_url).stdout
    rows = json.loads(invoke("broken", "--store", sqlite_url, "--json").stdout)
    assert [row["id"] for row in rows] == ["nightly"]


def test_status_counts_the_tasks(sqlite_url: str) -> None:
    invoke("pause", "five", "--store", sqlite_url)
    [row] = json.loads(invoke("status", "--store", sqlite_url, "--json").stdout)
    assert (row["scheduled"], row["paused"], row["broken"]) == (1, 1, 0)


def test_reading_a_missing_sqlite_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "doesnotexist.db"
    for command in ("list", "status", "broken"):
        result = invoke(command, "--store", f"sqlite:///{path}")
        assert result.exit_code == 1
        assert result.stderr.count("\n") == 1 and "no SQLite file" in result.stderr
    assert invoke("pause", "x", "--store", f"sqlite:///{path}").exit_code == 1
    assert not path.exists()


def test_reading_a_missing_directory_creates_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "nothing"
    result = invoke("list", "--store", f"file://{folder}")
    assert result.exit_code == 1 and "no such directory" in result.stderr
    assert not folder.exists()


def test_a_directory_is_a_file_store(tmp_path: Path) -> None:
    from tests.cli.conftest import fill

    folder = tmp_path / "tasks"
    fill({"type": "file", "directory": str(folder)})
    before = sorted(p.name for p in folder.rglob("*"))
    for spec in (str(folder), f"file://{folder}"):
        rows = json.loads(invoke("list", "--store", spec, "--json").stdout)
        assert sorted(row["id"] for row in rows) == ["five", "nightly"]
    assert sorted(p.name for p in folder.rglob("*")) == before


def test_the_app_gives_the_stores(sqlite_url: str, app_module: str) -> None:
    """--app imports from the current directory, as `celery -A` does."""
    result = invoke("list", "--app", f"{app_module}:scheduler", "--json")
    assert result.exit_code == 0, result.output
    assert sorted(row["id"] for row in json.loads(result.stdout)) == ["five", "nightly"]
    assert invoke("list", "--app", app_module).exit_code == 0  # `scheduler` by default
    assert app_module in sys.modules


def test_where_the_tasks_are_must_be_said(sqlite_url: str) -> None:
    result = invoke("list")
    assert result.exit_code == 2 and "--app module:scheduler or --store URL" in result.stderr
    result = invoke("list", "--store", sqlite_url, "--app", "x:y")
    assert result.exit_code == 2 and "not both" in result.stderr
    result = invoke("list", "--store", "nothing-like-a-store")
    assert result.exit_code == 2 and "expected a database URL" in result.stderr


@pytest.mark.parametrize("level", ["debug", "info", "WARNING"])
def test_log_level_is_taken_before_or_after_the_command(sqlite_url: str, level: str) -> None:
    assert invoke("--log-level", level, "list", "--store", sqlite_url).exit_code == 0
    assert invoke("list", "--store", sqlite_url, "--log-level", level).exit_code == 0


def test_tasks_the_app_adds_at_its_start_are_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"cli_memory_{tmp_path.name[-6:]}".replace("-", "_")
    (tmp_path / f"{name}.py").write_text(
        "from asyncz_like.schedulers import AsyncIOScheduler\n"
        "scheduler = AsyncIOScheduler(timezone='UTC')\n"
        "@scheduler.task(cron='0 2 * * *')\n"
        "def nightly():\n"
        "    return 'done'\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    try:
        [row] = json.loads(invoke("list", "--app", name, "--json").stdout)
        assert (row["id"], row["state"]) == (f"{name}:nightly", "pending")
        assert "when the scheduler starts" in invoke("list", "--app", name).stdout
        assert invoke("run", f"{name}:nightly", "--app", name).stdout.endswith("'done'\n")
        assert invoke("preview", f"{name}:nightly", "--app", name).exit_code == 0
        paused = invoke("pause", f"{name}:nightly", "--app", name)
        assert paused.exit_code == 1 and "adds it when it starts" in paused.stderr
    finally:
        sys.modules.pop(name, None)
