"""pause, resume, remove, run, add, update: they change the store (or run a task now)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import invoke


def rows_of(*where: str) -> dict[str, dict[str, object]]:
    return {row["id"]: row for row in json.loads(invoke("list", *where, "--json").stdout)}


def test_pause_resume_and_remove_change_the_store(sqlite_url: str) -> None:
    where = ("--store", sqlite_url)
    assert invoke("pause", "five", *where).stdout == "paused five\n"
    assert rows_of(*where)["five"]["next_run_time"] is None
    result = invoke("resume", "five", *where, "--timezone", "UTC")
    assert result.exit_code == 0 and "next run at" in result.stdout
    assert invoke("remove", "nightly", *where).exit_code == 0
    assert [(k, v["state"]) for k, v in rows_of(*where).items()] == [("five", "scheduled")]
    again = invoke("remove", "nightly", *where)
    assert again.exit_code == 1 and "'nightly'" in again.stderr
    assert json.loads(invoke("pause", "five", *where, "--json").stdout)["state"] == "paused"


def test_run_calls_the_task_now_and_keeps_its_schedule(sqlite_url: str, app_module: str) -> None:
    app = ("--app", app_module)
    assert invoke("add", f"{app_module}:ping", "--id", "p", "--interval", "1h", *app).exit_code == 0
    before = rows_of(*app)["p"]["next_run_time"]
    result = invoke("run", "p", *app)
    assert result.exit_code == 0 and result.stdout == "ran p: 'pong'\n"
    assert rows_of(*app)["p"]["next_run_time"] == before
    invoke("add", f"{app_module}:aping", "--id", "a", "--cron", "0 3 * * *", *app)
    assert json.loads(invoke("run", "a", *app, "--json").stdout)["result"] == "apong"
    invoke("add", f"{app_module}:fail", "--id", "f", "--at", "2030-01-01T00:00:00+00:00", *app)
    result = invoke("run", "f", *app)
    assert result.exit_code == 1
    assert result.stderr == "asyncz-like: task f raised RuntimeError: boom\n"


def test_run_refuses_a_task_whose_function_is_not_here(
    sqlite_url: str, app_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Listed without its function, a task still cannot be run without it."""
    invoke("add", f"{app_module}:ping", "--id", "p", "--interval", "1h", "--app", app_module)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    del sys.modules[app_module]
    assert invoke("list", "--store", sqlite_url).exit_code == 0
    result = invoke("run", "p", "--store", sqlite_url)
    assert result.exit_code == 1 and "cannot run in this process" in result.stderr
    assert f"No module named '{app_module}'" in result.stderr


def test_add_and_update(sqlite_url: str, app_module: str) -> None:
    app = ("--app", app_module)
    added = invoke(
        "add", f"{app_module}:ping", "--id", "w", "--cron", "30 4 * * *",
        "--kwargs", '{"word": "hi"}', *app, "--json",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert json.loads(added.stdout)["next_run_time"].endswith("T04:30:00+00:00")
    conflict = invoke("add", f"{app_module}:ping", "--id", "w", "--interval", "5m", *app)
    assert conflict.exit_code == 1 and "--replace" in conflict.stderr
    assert invoke("run", "w", *app).stdout == "ran w: 'hi'\n"
    invoke("pause", "w", *app)
    result = invoke("update", "w", "--interval", "90", "--name", "every 90 s", *app, "--json")
    row = json.loads(result.stdout)
    assert row["trigger"] == "interval[0:01:30]" and row["name"] == "every 90 s"
    assert row["state"] == "paused"  # a new trigger does not resume it
    bad = invoke("update", "w", "--cron", "nonsense", *app)
    assert bad.exit_code == 1 and "cron" in bad.stderr.lower()
    both = invoke("add", f"{app_module}:ping", "--cron", "* * * * *", "--interval", "5", *app)
    assert both.exit_code == 2 and "one of --cron, --interval, --at" in both.stderr
    not_json = invoke("add", f"{app_module}:ping", "--interval", "5", "--args", "[1", *app)
    assert not_json.exit_code == 2 and "--args" in not_json.stderr


def test_add_refuses_a_function_that_does_not_import(sqlite_url: str) -> None:
    result = invoke("add", "no_such_module_here:fn", "--interval", "5m", "--store", sqlite_url)
    assert result.exit_code == 1 and "no_such_module_here" in result.stderr


@pytest.mark.e2e
def test_old_run_of_a_scheduler_still_works_and_says_what_it_is_now() -> None:
    from tests.cli import conftest

    conftest.CALLS.clear()
    result = invoke("run", "tests.cli.test_changes:make_scheduler", "--seconds", "0.4")
    assert result.exit_code == 0 and "scheduler stopped" in result.stdout
    assert "start --app tests.cli.test_changes:make_scheduler" in result.stderr
    assert len(conftest.CALLS) >= 3


def make_scheduler() -> object:
    """What ``asyncz-like run tests.cli.test_changes:make_scheduler`` runs."""
    from asyncz_like.schedulers import BackgroundScheduler
    from tests.cli.conftest import tick

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_task(tick, "interval", seconds=0.05, id="tick")
    return scheduler
