"""``python -m asyncz_like.cli`` as a real process, as a new user runs it (issue #21)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.e2e

DEMO = """
from asyncz_like.schedulers import BackgroundScheduler

def tick():
    print("tick")

scheduler = BackgroundScheduler(stores={"default": {"type": "sqlalchemy", "database": "sqlite:///demo.db"}})
scheduler.start(paused=True)
scheduler.add_task(tick, "interval", minutes=5, id="five")
scheduler.shutdown()
"""

JOBS = """
from asyncz_like.schedulers import BackgroundScheduler

def ping():
    return "pong"

scheduler = BackgroundScheduler(
    stores={"default": {"type": "sqlalchemy", "database": "sqlite:///demo.db"}}, timezone="UTC"
)
scheduler.add_task(ping, "interval", seconds=0.2, id="ping", replace_existing=True)
"""


def pong() -> str:
    """What the worker's run calls."""
    return "pong"


def cli(cwd: Path, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the project directory: not on the path
    command = [sys.executable, "-m", "asyncz_like.cli", *argv]
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_a_script_s_tasks_are_listed_not_broken(tmp_path: Path) -> None:
    (tmp_path / "demo.py").write_text(DEMO)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "demo.py"], cwd=tmp_path, env=env, check=True, timeout=60)
    result = cli(tmp_path, "list", "--store", "sqlite:///demo.db")
    assert result.returncode == 0, result.stderr
    assert "__main__:tick" in result.stdout and "broken" not in result.stdout + result.stderr


def test_the_current_directory_is_importable(tmp_path: Path) -> None:
    (tmp_path / "demo.py").write_text(DEMO)
    (tmp_path / "jobs.py").write_text(JOBS)
    subprocess.run(
        [sys.executable, "demo.py"], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True, timeout=60,
    )  # fmt: skip
    result = cli(tmp_path, "status", "--app", "jobs:scheduler", "--json")
    assert result.returncode == 0, result.stderr
    missing = cli(tmp_path, "list", "--app", "job:scheduler")
    assert missing.returncode == 1
    assert missing.stderr == "asyncz-like: ModuleNotFoundError: No module named 'job'\n"


def test_reading_a_missing_store_creates_nothing(tmp_path: Path) -> None:
    result = cli(tmp_path, "list", "--store", "sqlite:///doesnotexist.db")
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_database_is_one_line_at_once(tmp_path: Path) -> None:
    began = time.monotonic()
    result = cli(tmp_path, "list", "--store", "postgresql+psycopg://postgres@127.0.0.1:9/test")
    assert result.returncode == 1 and time.monotonic() - began < 20
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "Connection refused" in result.stderr


def test_start_runs_the_app_until_sigterm(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text(JOBS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "asyncz_like.cli", "start", "--app", "jobs:scheduler"]
    log = tmp_path / "start.log"
    with log.open("w") as err:
        process = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
        try:
            deadline = time.monotonic() + 60
            while "Scheduler started" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)  # a loaded machine takes seconds to import
            process.send_signal(signal.SIGTERM)
            out, _ = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert process.returncode == 0, log.read_text()
    assert "scheduler stopped" in out
    assert "Scheduler has been shut down" in log.read_text()  # logs at info by default


def test_worker_refuses_bad_arguments_naming_them(tmp_path: Path) -> None:
    result = cli(tmp_path, "worker", "--broker", "nothing-like-a-broker")
    assert result.returncode == 1 and "broker" in result.stderr
    assert result.stderr.count("\n") == 1
    result = cli(tmp_path, "worker", "--broker", "memory", "--concurrency", "0")
    assert result.returncode == 1 and "concurrency" in result.stderr
    result = cli(tmp_path, "worker", "--broker", "memory", "--import", "no_such_module_here")
    assert result.returncode == 1 and "no_such_module_here" in result.stderr


def test_the_console_script_is_installed(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("asyncz-like")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [script, "--help"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0 and "run a scheduler" in result.stdout


def test_a_worker_serves_metrics_of_the_runs_it_ran(tmp_path: Path) -> None:
    from asyncz_like.schedulers import BackgroundScheduler
    from tests.cli.test_observing import free_port, scrape

    url = f"sqlite:///{tmp_path / 'runs.db'}"
    submitter = BackgroundScheduler(broker=url, worker=False, timezone="UTC")
    submitter.start()
    run = submitter.submit(f"{__name__}:pong")
    submitter.shutdown()
    port = free_port()
    command = [sys.executable, "-m", "asyncz_like.cli", "worker", "--broker", url,
               "--interval", "0.2", "--metrics-port", str(port),
               "--metrics-host", "127.0.0.1"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    log = tmp_path / "worker.log"
    completed = 'asyncz_like_runs_total{queue="default",status="completed"} 1.0'
    body = ""
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 40  # a loaded machine takes seconds to import
            while completed not in body and time.monotonic() < deadline:
                time.sleep(0.2)
                try:
                    body = scrape(port)
                except OSError:
                    continue  # not listening yet
            process.send_signal(signal.SIGTERM)
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert completed in body, log.read_text()
    assert 'asyncz_like_run_duration_seconds_count{queue="default"} 1.0' in body
    assert process.returncode == 0, log.read_text()
    assert run.id in log.read_text()  # it ran in that process
