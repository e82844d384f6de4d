"""The command line through click's runner, on stores made for each test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from asyncz_like.cli.commands import cli
from asyncz_like.schedulers import BackgroundScheduler

CALLS: list[str] = []


def tick() -> None:
    CALLS.append("tick")


def invoke(*argv: str, input: str | None = None) -> Result:
    """``asyncz-like ARGV`` in this process; stdout and stderr apart."""
    return CliRunner().invoke(cli, list(argv), input=input, catch_exceptions=False)


def fill(config: dict[str, object]) -> None:
    """Two tasks calling :func:`tick`: ``five`` every 5 minutes, ``nightly`` at 2:00."""
    scheduler = BackgroundScheduler(stores={"default": config}, timezone="UTC")
    scheduler.start(paused=True)
    scheduler.add_task(tick, "interval", minutes=5, id="five")
    scheduler.add_task(tick, "cron", hour=2, id="nightly")
    scheduler.shutdown()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    fill({"type": "sqlalchemy", "database": url})
    return url


@pytest.fixture
def app_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A module in the current directory (not on sys.path otherwise) whose ``scheduler`` has
    the SQLite store of ``tasks.db``; its name."""
    name = f"cli_app_{uuid.uuid4().hex[:8]}"
    (tmp_path / f"{name}.py").write_text(
        "from asyncz_like.schedulers import BackgroundScheduler\n"
        "scheduler = BackgroundScheduler(\n"
        f"    stores={{'default': {{'type': 'sqlalchemy', 'database': 'sqlite:///{tmp_path}/tasks.db'}}}},\n"
        "    timezone='UTC',\n"
        ")\n"
        "def ping(word='pong'):\n"
        "    return word\n"
        "async def aping():\n"
        "    return 'apong'\n"
        "def fail():\n"
        "    raise RuntimeError('boom')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    yield name
    sys.modules.pop(name, None)
