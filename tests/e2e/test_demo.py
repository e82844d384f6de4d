"""`make demo` (examples/demo.py) as a user runs it: periodic fires, background runs whose
progress moves, a summary, and the dashboard command."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def run_demo(tmp_path: Path, seconds: float) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DEMO_SECONDS": str(seconds),
        "DEMO_DB": str(tmp_path / "tasks.db"),
        "DEMO_RUNS_DB": str(tmp_path / "runs.db"),
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=50, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_demo_shows_fires_background_progress_and_the_dashboard(tmp_path: Path) -> None:
    out = run_demo(tmp_path, 3.5)
    assert re.search(r"^heartbeat +due .* ok +'ok'$", out, re.MULTILINE), out
    assert "submitted 3 background runs through the broker" in out
    # each run's progress is printed as it moves, from 0% to 100%
    for run_id in set(re.findall(r"^run (\w{8})  \[", out, re.MULTILINE)):
        percents = re.findall(rf"^run {run_id}  \[[#.]+\] +([\d.]+)%", out, re.MULTILINE)
        assert percents[0] == "0.0" and percents[-1] == "100.0", out
        assert len(set(percents)) >= 3, out
    assert len(re.findall(r"^run \w{8}  completed attempts", out, re.MULTILINE)) == 3, out
    assert re.search(r"completed attempts 2  'upload.png resized'", out), out  # retried
    assert "retrying  ConnectionError: the storage did not answer" in out, out
    assert "asyncz-like dashboard-user admin --role operator >> dashboard-users.txt" in out, out
    assert (
        "PYTHONPATH=examples asyncz-like dashboard --app demo:scheduler "
        "--users dashboard-users.txt" in out
    ), out


def test_a_second_run_finds_the_tasks_it_stored(tmp_path: Path) -> None:
    run_demo(tmp_path, 0.5)
    out = run_demo(tmp_path, 0.5)
    assert "found in the database: heartbeat" in out, out
    assert "added:" not in out, out
