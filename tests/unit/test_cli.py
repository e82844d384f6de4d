"""The asyncz-like command line, on a SQLite file and on a file store."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from asyncz_like.cli import main
from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.stores.sqlalchemy import SQLAlchemyStore
from tests.store_hooks import overwrite_record

CALLS: list[str] = []


def tick() -> None:
    CALLS.append("tick")


def make_scheduler() -> BackgroundScheduler:
    """What ``asyncz-like run tests.unit.test_cli:make_scheduler`` runs."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_task(tick, "interval", seconds=0.05, id="tick")
    return scheduler


def run_cli(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(argv), out), out.getvalue()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    scheduler = BackgroundScheduler(stores={"default": {"type": "sqlalchemy", "database": url}})
    scheduler.start(paused=True)
    scheduler.add_task(tick, "interval", minutes=5, id="five")
    scheduler.add_task(tick, "cron", hour=2, id="nightly")
    scheduler.shutdown()
    return url


def test_tasks_lists_what_the_store_holds(sqlite_store: str) -> None:
    status, text = run_cli("tasks", "--store", sqlite_store)
    assert status == 0
    assert "five" in text and "nightly" in text and "tick" in text
    status, text = run_cli("tasks", "--store", sqlite_store, "--json")
    rows = json.loads(text)
    assert {row["id"] for row in rows} == {"five", "nightly"}
    assert all(row["next_run_time"] for row in rows)


def test_pause_resume_and_remove_change_the_store(sqlite_store: str) -> None:
    assert run_cli("pause", "five", "--store", sqlite_store)[0] == 0
    rows = json.loads(run_cli("tasks", "--store", sqlite_store, "--json")[1])
    assert {row["id"]: row["next_run_time"] for row in rows}["five"] is None
    status, text = run_cli("resume", "five", "--store", sqlite_store, "--timezone", "UTC")
    assert status == 0 and "next run at" in text
    assert run_cli("remove", "nightly", "--store", sqlite_store)[0] == 0
    rows = json.loads(run_cli("tasks", "--store", sqlite_store, "--json")[1])
    assert [(row["id"], row["next_run_time"] is not None) for row in rows] == [("five", True)]


def test_broken_lists_records_that_cannot_be_read(sqlite_store: str) -> None:
    store = SQLAlchemyStore(database=sqlite_store)
    overwrite_record(store, "nightly", b"\x00garbage")
    store.shutdown()
    status, text = run_cli("broken", "--store", sqlite_store)
    assert status == 0 and "nightly" in text and "five" not in text
    assert "1 broken record" in run_cli("tasks", "--store", sqlite_store)[1]


def test_bad_input_says_what_is_wrong(
    sqlite_store: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("tasks", "--store", str(tmp_path / "missing"))[0] == 2
    assert "expected a database URL" in capsys.readouterr().err
    assert run_cli("pause", "nope", "--store", sqlite_store)[0] == 1
    assert "nope" in capsys.readouterr().err
    assert run_cli("run", "tests.unit.test_cli:CALLS")[0] == 1
    assert "not a scheduler" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli("tasks")  # --store is required: argparse exits with 2


def test_a_directory_is_a_file_store(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    scheduler = BackgroundScheduler(stores={"default": {"type": "file", "directory": folder}})
    scheduler.start(paused=True)
    scheduler.add_task(tick, "interval", hours=1, id="hourly")
    scheduler.shutdown()
    for spec in (str(folder), f"file://{folder}"):
        rows = json.loads(run_cli("tasks", "--store", spec, "--json")[1])
        assert [row["id"] for row in rows] == ["hourly"]


@pytest.mark.e2e
def test_run_runs_a_scheduler_for_a_while() -> None:
    CALLS.clear()
    status, text = run_cli("run", "tests.unit.test_cli:make_scheduler", "--seconds", "0.4")
    assert status == 0 and "stopped" in text
    assert len(CALLS) >= 3


@pytest.mark.e2e
def test_the_console_script_is_installed() -> None:
    script = Path(sys.executable).with_name("asyncz-like")
    result = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and "run a scheduler" in result.stdout


def test_worker_refuses_bad_arguments_naming_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli("worker", "--broker", "nothing-like-a-broker")[0] == 1
    assert "broker" in capsys.readouterr().err
    assert run_cli("worker", "--broker", "memory", "--concurrency", "0")[0] == 1
    assert "concurrency" in capsys.readouterr().err
    assert run_cli("worker", "--broker", "memory", "--import", "no_such_module_here")[0] == 1
    assert "no_such_module_here" in capsys.readouterr().err
