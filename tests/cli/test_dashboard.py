"""``dashboard`` and ``dashboard-user`` over a fake ``asyncz_like.dashboard`` module."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from tests.cli.conftest import invoke


@pytest.fixture
def fake_dashboard(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []
    package = types.ModuleType("asyncz_like.dashboard")
    auth = types.ModuleType("asyncz_like.dashboard.auth")

    def serve(scheduler: Any, *, host: str, port: int, users_file: str | None) -> None:
        calls.append((scheduler, host, port, users_file))

    def user_line(name: str, role: str, password: str) -> str:
        calls.append((name, role, password))
        return f"{name}:{role}:hash-of-{password}"

    package.serve = serve  # type: ignore[attr-defined]
    auth.user_line = user_line  # type: ignore[attr-defined]
    package.auth = auth  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "asyncz_like.dashboard", package)
    monkeypatch.setitem(sys.modules, "asyncz_like.dashboard.auth", auth)
    return calls


def test_dashboard_serves_the_app_scheduler(
    fake_dashboard: list[tuple[Any, ...]], app_module: str
) -> None:
    result = invoke(
        "dashboard", "--app", app_module, "--bind", "0.0.0.0:9001", "--users", "users.txt"
    )
    assert result.exit_code == 0, result.output
    [(scheduler, host, port, users)] = fake_dashboard
    assert scheduler is sys.modules[app_module].scheduler  # type: ignore[attr-defined]
    assert (host, port, users) == ("0.0.0.0", 9001, "users.txt")


def test_dashboard_refuses_a_bad_bind_and_no_app(fake_dashboard: list[tuple[Any, ...]]) -> None:
    result = invoke("dashboard", "--app", "x:y", "--bind", "localhost")
    assert result.exit_code == 2 and "HOST:PORT" in result.stderr
    assert invoke("dashboard").exit_code == 2
    assert fake_dashboard == []


def test_dashboard_user_asks_twice_and_prints_the_line(
    fake_dashboard: list[tuple[Any, ...]],
) -> None:
    result = invoke("dashboard-user", "ann", "--role", "operator", input="s3cret\ns3cret\n")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "ann:operator:hash-of-s3cret"
    assert "s3cret" not in result.stdout.replace("hash-of-s3cret", "")  # not echoed
    mismatch = invoke("dashboard-user", "bob", input="one\ntwo\nsame\nsame\n")
    assert mismatch.stdout.splitlines()[-1] == "bob:viewer:hash-of-same"
    assert invoke("dashboard-user", "eve", "--role", "admin").exit_code == 2


def test_without_the_extra_one_line_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncz_like.dashboard", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "asyncz_like.dashboard.auth", raising=False)
    for argv in (["dashboard", "--app", "x:y"], ["dashboard-user", "ann"]):
        result = invoke(*argv, input="pw\npw\n")
        assert result.exit_code == 1
        assert result.stderr == (
            "asyncz-like: the dashboard is not installed: pip install 'asyncz_like[dashboard]'\n"
        )
