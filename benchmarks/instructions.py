"""CPU instructions per add, per burst fire and per one-fire pass of asyncz_like, counted by
valgrind's callgrind: the same count whatever else the machine is doing, so that two commits
can be compared on a machine whose speed moves from one second to the next.

Not part of ``run.py``: the anchors are timed there. Usage (about a minute a checkout)::

    python benchmarks/instructions.py                  # the checkout this file is in
    python benchmarks/instructions.py --root /tmp/old  # another checkout (a git worktree)

Each figure is the difference of two runs of one script, with fewer and more operations,
divided by the difference in their number: what starting Python and the scheduler costs drops
out. The scheduler runs on a hand-moved clock and its passes are called back to back, so
the count does not depend on time; hash randomisation and the garbage collector are off (a
full collection falls into one of the two runs or not by how many objects the code makes),
the scheduler is not shut down (that work grows with the tasks left stored), and the modules
are compiled first. The same code then counts the same to within about 1 %.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV_PYTHON = HERE / ".venvs" / "asyncz_like" / "bin" / "python"

#: Runs inside the benchmark venv: ``script OPERATION COUNT``.
SCRIPT = r"""
import asyncio, gc, sys
gc.disable()  # a collection falls in one run and not the other by the count of objects made
from datetime import UTC, datetime, timedelta
from asyncz_like import AsyncIOScheduler
from asyncz_like.stores.memory import MemoryStore

class HandClock:
    def __init__(self, now): self.current = now
    def now(self): return self.current

OPERATION, COUNT = sys.argv[1], int(sys.argv[2])
fired = 0

async def job():
    global fired
    fired += 1

async def cold():
    pass

OPTIONS = {"coalesce": True, "max_instances": 1, "mistrigger_grace_time": None}

class IOStore(MemoryStore):  # a pass over it does what one over SQL does, less the I/O
    does_io = True

async def main():
    start = datetime(2030, 1, 1, tzinfo=UTC)
    clock = HandClock(start)
    options = {}
    if OPERATION == "iopass":  # fires claimed at their run times, held until taken up
        options = {"claim_ahead": 0, "stores": {"default": IOStore()}}
    scheduler = AsyncIOScheduler(timezone=UTC, clock=clock, **options)
    scheduler.start()
    scheduler._cancel_timer()  # the script calls the passes itself
    scheduler.wakeup_at = lambda run_time: None
    scheduler.wakeup = lambda: None
    if OPERATION in ("add", "fire"):
        due = start + timedelta(seconds=1)
        for _ in range(COUNT):
            scheduler.add_task(job, "date", run_at=due, **OPTIONS)
        if OPERATION == "fire":
            clock.current = due
            while fired < COUNT:
                scheduler.process_tasks(128)
    else:  # "pass", "iopass": 1,000 interval tasks, one due per millisecond
        for _ in range(900):
            scheduler.add_task(cold, "interval", seconds=3600,
                               start_at=start + timedelta(seconds=1800), **OPTIONS)
        for index in range(100):
            scheduler.add_task(job, "interval", seconds=0.1,
                               start_at=start + timedelta(milliseconds=index + 1), **OPTIONS)
        for _ in range(COUNT):
            clock.current += timedelta(milliseconds=1)
            scheduler.process_tasks()
    # No shutdown: its work grows with the tasks left stored, which would count as the adds'.

asyncio.run(main())
"""

#: (operation, what one is, the smaller and the larger count). A burst fire's runs add its
#: tasks first: the adds' count is taken off.
MEASURES = [
    ("add", "an add (memory store, date task)", 1_000, 3_000),
    ("fire", "a burst fire (coroutine, memory store)", 1_000, 3_000),
    ("pass", "a pass that fires one interval task of 1,000", 200, 2_200),
    ("iopass", "the same pass over a store that does I/O (claim_ahead=0)", 200, 2_200),
]


def count_instructions(python: Path, root: Path, script: Path, operation: str, n: int) -> int:
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(root)}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    command = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        str(python), str(script), operation, str(n),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError(f"{operation} {n} failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=HERE.parent, help="the checkout to count")
    parser.add_argument("--python", type=Path, default=VENV_PYTHON, help="a venv with the deps")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    if not args.python.exists():
        print(f"{args.python} is missing: run benchmarks/run.py once first", file=sys.stderr)
        return 2
    root = args.root.resolve()
    compileall.compile_dir(root / "asyncz_like", quiet=1)
    script = root / ".instructions_script.py"
    script.write_text(SCRIPT)
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "log", "-1", "--format=%h"], capture_output=True, text=True
        ).stdout.strip()
        print(f"asyncz_like at {root} ({head or 'no git'}): CPU instructions (callgrind)")
        per: dict[str, float] = {}
        for operation, what, small, large in MEASURES:
            low = count_instructions(args.python, root, script, operation, small)
            high = count_instructions(args.python, root, script, operation, large)
            per[operation] = (high - low) / (large - small)
            figure = per[operation] - (per["add"] if operation == "fire" else 0.0)
            print(f"  {what}: {figure:,.0f}")
    finally:
        script.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
