"""``--metrics-port`` and ``--otel`` of ``worker`` and ``start``, through click's runner: the
worker's run is replaced by a look at what is served and traced while it would run."""

from __future__ import annotations

import socket
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from asyncz_like.workers import Worker
from tests.cli.conftest import invoke


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        body: bytes = response.read()
        return body.decode()


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """What a worker sees of its instrumentation, in place of its run."""
    seen: dict[str, Any] = {}

    def run_sync(worker: Worker, handle_signals: bool = True) -> None:
        enqueue = vars(worker.broker).get("enqueue")  # the producer spans' wrapper
        seen["traced"] = getattr(enqueue, "__asyncz_like_traced__", False)
        seen["timed"] = "claim" in vars(worker.broker)  # the metrics' call timer
        if "port" in seen:
            seen["body"] = scrape(seen["port"])

    monkeypatch.setattr(Worker, "run_sync", run_sync)
    yield seen


def test_worker_serves_metrics_while_it_runs(seen: dict[str, Any], tmp_path: Path) -> None:
    port = seen["port"] = free_port()
    broker = f"sqlite:///{tmp_path / 'runs.db'}"
    result = invoke("worker", "--broker", broker, "--metrics-port", str(port),
                    "--metrics-host", "127.0.0.1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"metrics on http://127.0.0.1:{port}/metrics" in result.output
    assert "asyncz_like_runs_in_progress" in seen["body"]
    assert "asyncz_like_broker_call_seconds" in seen["body"]
    assert seen["timed"] and not seen["traced"]
    with pytest.raises(OSError):  # the server stopped with the worker
        scrape(port)


def test_worker_traces_with_otel(seen: dict[str, Any], tmp_path: Path) -> None:
    result = invoke("worker", "--broker", f"sqlite:///{tmp_path / 'runs.db'}", "--otel")
    assert result.exit_code == 0, result.output
    assert seen["traced"] and not seen["timed"]


def test_a_port_in_use_is_named(seen: dict[str, Any], tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = invoke("worker", "--broker", f"sqlite:///{tmp_path / 'runs.db'}",
                        "--metrics-port", str(port), "--metrics-host", "127.0.0.1")  # fmt: skip
    assert result.exit_code == 1
    assert f"--metrics-port {port}" in result.output
    assert "traced" not in seen  # it never ran


@pytest.mark.parametrize(
    ("option", "module", "extra"),
    [
        ("--metrics-port=0", "prometheus_client", "prometheus"),
        ("--otel", "opentelemetry", "otel"),
    ],
)
def test_a_missing_extra_is_named(
    option: str,
    module: str,
    extra: str,
    seen: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    for name in ("asyncz_like.contrib.prometheus", "asyncz_like.contrib.opentelemetry"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    result = invoke("worker", "--broker", f"sqlite:///{tmp_path / 'runs.db'}", option)
    assert result.exit_code == 1
    assert f"pip install 'asyncz_like[{extra}]'" in result.output
    assert "traced" not in seen


def test_start_serves_metrics_of_its_scheduler(app_module: str) -> None:
    port = free_port()
    result = invoke("start", "--app", f"{app_module}:scheduler", "--seconds", "0",
                    "--metrics-port", str(port), "--metrics-host", "127.0.0.1",
                    "--otel")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"metrics on http://127.0.0.1:{port}/metrics" in result.output
    assert "scheduler stopped" in result.output
    with pytest.raises(OSError):
        scrape(port)
