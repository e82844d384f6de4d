"""serve(): refuses to start without users, serves the dashboard with the scheduler's
lifespan around it; a missing extra is named."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import uvicorn

import asyncz_like.dashboard
from asyncz_like.asgi import ASGIApp
from asyncz_like.dashboard import serve
from asyncz_like.dashboard.auth import user_line
from asyncz_like.dashboard.serving import USERS_FILE_VARIABLE
from tests.helpers import manual_scheduler
from tests.unit.dashboard.helpers import PASSWORD


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    calls: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.update(app=app, **options))
    monkeypatch.delenv(USERS_FILE_VARIABLE, raising=False)
    return calls


def users_file(tmp_path: Path) -> str:
    path = tmp_path / "users"
    path.write_text(user_line("olga", "operator", PASSWORD) + "\n")
    return str(path)


def test_serve_refuses_to_start_without_users(served: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="users_file is required"):
        serve(manual_scheduler())
    empty = tmp_path / "empty"
    empty.write_text("# nobody yet\n")
    with pytest.raises(ValueError, match="without credentials"):
        serve(manual_scheduler(), users_file=str(empty))
    assert served == {}


def test_serve_runs_the_dashboard_with_the_scheduler(
    served: dict[str, Any], tmp_path: Path
) -> None:
    serve(manual_scheduler(), host="127.0.0.1", port=9999, users_file=users_file(tmp_path))
    assert isinstance(served["app"], ASGIApp)  # the scheduler starts and stops with the server
    assert (served["host"], served["port"]) == ("127.0.0.1", 9999)


def test_serve_reads_the_users_file_from_the_environment(
    served: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(USERS_FILE_VARIABLE, users_file(tmp_path))
    serve(manual_scheduler())
    assert served["port"] == 8765 and served["host"] == "127.0.0.1"


@pytest.mark.parametrize("port", [-1, 70000, "80", True])
def test_a_bad_port_is_named(served: dict[str, Any], tmp_path: Path, port: Any) -> None:
    with pytest.raises(ValueError, match="port must be"):
        serve(manual_scheduler(), port=port, users_file=users_file(tmp_path))


def test_a_missing_extra_is_named() -> None:
    script = (
        "import sys; sys.modules['starlette'] = None\n"
        "import asyncz_like.dashboard as dashboard\n"
        "try:\n    dashboard.create_dashboard\n"
        "except ImportError as error:\n    print(type(error).__name__, error)\n"
    )
    shown = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert shown.startswith("MissingDependencyError ")
    assert "pip install 'asyncz_like[dashboard]'" in shown


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        asyncz_like.dashboard.no_such_name  # noqa: B018
