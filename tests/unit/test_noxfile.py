"""noxfile.py's sessions install what the Makefile's targets install."""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


class RecordingSession:
    """What a nox session was asked to install and run."""

    posargs: list[str] = []

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []

    def install(self, *args: str, **kwargs: Any) -> None:
        self.calls.append(("install", args, kwargs))

    def run(self, *args: str, **kwargs: Any) -> None:
        self.calls.append(("run", args, kwargs))

    def log(self, *args: Any) -> None:
        pass


def load_noxfile(monkeypatch: pytest.MonkeyPatch) -> Any:
    fake = types.ModuleType("nox")
    fake.session = lambda function: function  # type: ignore[attr-defined]
    fake.options = types.SimpleNamespace()  # type: ignore[attr-defined]
    fake.Session = RecordingSession  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "nox", fake)
    spec = importlib.util.spec_from_file_location("noxfile_under_test", ROOT / "noxfile.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_tests_session_installs_the_extras_make_test_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    makefile = (ROOT / "Makefile").read_text()
    (prerequisites,) = re.findall(r"^test:(.*)$", makefile, re.MULTILINE)
    assert "mysqlclient" in prerequisites.split()
    session = RecordingSession()
    load_noxfile(monkeypatch).tests(session)
    installs = [
        (args, kwargs)
        for kind, args, kwargs in session.calls
        if any(arg.startswith(".[") for arg in args) and (kind == "install" or "pip" in args)
    ]
    extras = {arg for args, _ in installs for arg in args if arg.startswith(".[")}
    assert extras == {".[all,test]", ".[mysqlclient]"}
    (mysqlclient,) = [kwargs for args, kwargs in installs if ".[mysqlclient]" in args]
    assert 1 in mysqlclient.get("success_codes", [0])  # a failed build skips its tests
    assert session.calls[-1][1][:3] == ("python", "-m", "pytest")
