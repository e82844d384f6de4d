"""Errors in one line with their cause, a non-zero exit; --version, version, doctor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import asyncz_like
from tests.cli.conftest import invoke


def test_a_missing_module_is_named(app_module: str, tmp_path: Path) -> None:
    result = invoke("list", "--app", "no_such_jobs:scheduler")
    assert result.exit_code == 1
    assert result.stderr == "asyncz-like: ModuleNotFoundError: No module named 'no_such_jobs'\n"
    (tmp_path / "needs_dep.py").write_text("import not_installed_dep\nscheduler = None\n")
    result = invoke("list", "--app", "needs_dep:scheduler")  # the real missing module
    assert "No module named 'not_installed_dep'" in result.stderr and result.exit_code == 1


def test_an_app_that_is_not_a_scheduler(app_module: str) -> None:
    result = invoke("list", "--app", f"{app_module}:ping")  # a function returning a str
    assert result.exit_code == 2 and "is not a scheduler" in result.stderr
    result = invoke("list", "--app", f"{app_module}:nothing")
    assert result.exit_code == 2 and "has no 'nothing'" in result.stderr


def test_debug_prints_the_traceback_too(tmp_path: Path) -> None:
    where = ("--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert "Traceback" not in invoke("list", *where).stderr
    result = invoke("list", *where, "--log-level", "debug")
    assert "Traceback" in result.stderr and result.stderr.endswith("(nothing was created)\n")


def test_version() -> None:
    assert invoke("--version").stdout.startswith(f"asyncz-like {asyncz_like.__version__} ")
    assert invoke("version").stdout == invoke("--version").stdout
    assert json.loads(invoke("version", "--json").stdout)["asyncz_like"] == asyncz_like.__version__


def test_doctor_checks_the_store(sqlite_url: str, tmp_path: Path) -> None:
    result = invoke("doctor", "--store", sqlite_url, "--json")
    assert result.exit_code == 0, result.output
    checks = {check["check"]: check["ok"] for check in json.loads(result.stdout)}
    assert checks["python"] and checks["store default"] and checks["store default records"]
    result = invoke("doctor", "--store", f"sqlite:///{tmp_path / 'none.db'}")
    assert result.exit_code == 1 and "no SQLite file" in result.stdout
    assert result.stderr == "asyncz-like: some checks failed\n"


@pytest.mark.parametrize("argv", [["nonsense"], ["list", "--bogus"], ["preview", "x", "-n", "0"]])
def test_bad_usage_exits_with_2(argv: list[str]) -> None:
    assert invoke(*argv).exit_code == 2


def test_without_click_the_extra_is_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from asyncz_like.cli import main

    for name in [name for name in sys.modules if name.startswith("asyncz_like.cli.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "click", None)  # as if not installed
    assert main(["list"]) == 1
    assert capsys.readouterr().err == "asyncz-like needs click: pip install 'asyncz_like[cli]'\n"


def test_main_returns_the_exit_status(sqlite_url: str) -> None:
    from asyncz_like.cli import main

    assert main(["list", "--store", sqlite_url]) == 0
    assert main(["inspect", "nope", "--store", sqlite_url]) == 1
    assert main(["list", "--bogus"]) == 2


def test_a_worker_needs_a_broker(app_module: str) -> None:
    result = invoke("worker", "--app", app_module)
    assert result.exit_code == 2 and "has no broker" in result.stderr
    assert invoke("worker").exit_code == 2


@pytest.mark.parametrize("command", [("list", "--store"), ("worker", "--broker")])
def test_a_bad_json_config_names_its_option(command: tuple[str, str], tmp_path: Path) -> None:
    verb, option = command
    missing = tmp_path / "missing.json"
    result = invoke(verb, option, f"@{missing}")
    assert result.exit_code == 2 and "cannot read a JSON config" in result.stderr
    assert option in result.stderr
    untyped = tmp_path / "untyped.json"
    untyped.write_text(json.dumps({"url": "redis://localhost"}))
    result = invoke(verb, option, f"@{untyped}")
    assert result.exit_code == 2 and "must be an object with a 'type'" in result.stderr
    assert option in result.stderr
