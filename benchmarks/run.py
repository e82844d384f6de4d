"""Benchmark asyncz_like against APScheduler 3 and asyncz, each in its own virtualenv.

``python benchmarks/run.py`` runs every scenario (3 repetitions, medians) and replaces
``benchmarks/results/latest.md`` and ``.json``; any partial run (``--quick``, ``--only``,
``--case``, ``--store``) and ``--profile`` write to ``benchmarks/.runs/`` instead, which git
ignores. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import report
from adapters.base import STORE_KINDS
from catalog import Case, Scenario, build
from envs import BENCH_DIR, LIBRARIES, ensure_venv

WORKER = BENCH_DIR / "worker.py"
RESULTS_DIR = BENCH_DIR / "results"  # the latest full run only, committed
RUNS_DIR = BENCH_DIR / ".runs"  # partial runs and profiles, ignored by git
LATEST = "latest"
CASE_TIMEOUT = 600.0


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    scenarios = _select(build(args.quick, args.store), args.only, args.case)
    default_repetitions = args.repetitions or (1 if args.quick else 3)
    pythons = {lib.name: ensure_venv(lib) for lib in LIBRARIES}
    if args.profile:
        for scenario in scenarios:
            for case in scenario.cases:
                _profile(pythons["asyncz_like"], case, args.profile_lines)
        return 0
    started = time.perf_counter()
    raw: report.Raw = {}
    failures: list[str] = []
    seconds: dict[str, float] = {}  # wall time of each case, all libraries and repetitions
    for scenario in scenarios:
        for case in scenario.cases:
            repetitions = args.repetitions or case.repetitions or default_repetitions
            case_started = time.perf_counter()
            raw[case.key] = _run_case(case, pythons, repetitions, failures)
            seconds[case.key] = round(time.perf_counter() - case_started, 1)
    elapsed = time.perf_counter() - started
    text = report.table(scenarios, raw)
    print(text)
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    meta = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": report.machine(),
        "cpus": os.cpu_count(),
        "mode": "quick" if args.quick else "full",
        "store": args.store,
        "repetitions": default_repetitions,
        "scenarios": ", ".join(s.name for s in scenarios),
        "elapsed_s": round(elapsed, 1),
        "asyncz_like_code": _code_version(),
        "failures": "; ".join(failures) or "none",
        "slowest_cases_s": ", ".join(
            f"{key} {value:.0f}"
            for key, value in sorted(seconds.items(), key=lambda kv: -kv[1])[:8]
        ),
    }
    if not args.no_save:
        directory, stem = _destination(args, scenarios)
        for path in report.write(directory, stem, text, raw, meta):
            print(f"wrote {path}", file=sys.stderr)
    return 1 if failures else 0


def _destination(args: argparse.Namespace, scenarios: list[Scenario]) -> tuple[Path, str]:
    """Where a run's files go: a full run replaces the kept one, any other run goes aside."""
    partial = args.quick or args.only or args.case or args.store != "memory"
    if not partial:
        return RESULTS_DIR, LATEST
    stem = datetime.datetime.now().strftime("%Y-%m-%dT%H%M%S")
    stem += "-quick" if args.quick else ""
    if args.only or args.case:
        stem += "-" + "-".join(args.case or [s.name for s in scenarios])
    if args.store != "memory":
        stem += f"-{args.store}"
    return RUNS_DIR, stem


def _code_version() -> str:
    """The commit measured, marked dirty when asyncz_like/ has uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=BENCH_DIR, capture_output=True, text=True)
        return done.stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    return commit + (
        " + uncommitted changes" if git("status", "--porcelain", "../asyncz_like") else ""
    )


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, 1 repetition")
    parser.add_argument(
        "--only", action="append", metavar="SCENARIO",
        help="run only this scenario (name or number; repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--case", action="append", metavar="KEY",
        help="run only this case of the selected scenarios (e.g. add-100k; repeatable)",
    )  # fmt: skip
    parser.add_argument(
        "--repetitions", type=int,
        help="repetitions of every case (default: 3, and 1 for the long cases that say so)",
    )  # fmt: skip
    parser.add_argument("--store", choices=STORE_KINDS, default="memory")
    parser.add_argument(
        "--profile", action="store_true",
        help="profile asyncz_like's measured part of the selected scenarios instead",
    )  # fmt: skip
    parser.add_argument("--profile-lines", type=int, default=25)
    parser.add_argument(
        "--no-save", action="store_true", help="write no file (results/ nor .runs/)"
    )
    return parser.parse_args(argv)


def _select(
    scenarios: list[Scenario], only: list[str] | None, cases: list[str] | None
) -> list[Scenario]:
    if only:
        wanted = set(only)
        known = {s.name for s in scenarios} | {str(s.number) for s in scenarios}
        if unknown := wanted - known:
            sys.exit(f"unknown scenario(s): {', '.join(sorted(unknown))}; known: {sorted(known)}")
        scenarios = [s for s in scenarios if s.name in wanted or str(s.number) in wanted]
    if cases:
        keys = set(cases)
        known = {case.key for s in scenarios for case in s.cases}
        if unknown := keys - known:
            sys.exit(f"unknown case(s): {', '.join(sorted(unknown))}; known: {sorted(known)}")
        scenarios = [
            replace(
                s,
                cases=[c for c in s.cases if c.key in keys],
                rows=[r for r in s.rows if r.case in keys],
            )
            for s in scenarios
        ]
        scenarios = [s for s in scenarios if s.cases]
    return scenarios


def _run_case(
    case: Case, pythons: dict[str, Path], repetitions: int, failures: list[str]
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {library: [] for library in case.libraries}

    def one(library: str, repetition: int) -> None:
        label = f"{case.key} {library} #{repetition + 1}"
        print(f"[run] {label}", file=sys.stderr, flush=True)
        try:
            runs[library].append(_run_worker(pythons[library], library, case))
        except RuntimeError as error:
            failures.append(f"{label}: {str(error).splitlines()[-1].strip()}")
            print(f"[fail] {label}: {error}", file=sys.stderr, flush=True)

    for repetition in range(repetitions):
        if case.side_by_side:  # figures that contention does not change (see Case)
            with ThreadPoolExecutor(len(case.libraries)) as pool:
                list(pool.map(one, case.libraries, [repetition] * len(case.libraries)))
            continue
        for library in case.libraries:  # interleaved, so that drift hits every library
            one(library, repetition)
    return runs


def _run_worker(
    python: Path, library: str, case: Case, extra: tuple[str, ...] = ()
) -> dict[str, Any]:
    command = [str(python), str(WORKER), library, case.scenario, json.dumps(case.params), *extra]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=CASE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"timed out after {CASE_TIMEOUT:.0f} s") from None
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-5:])
        raise RuntimeError(f"exit {done.returncode}: {tail}")
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("RESULT "))
    return result


def _profile(python: Path, case: Case, lines: int) -> None:
    """cProfile asyncz_like over the measured part of ``case``; print the top functions."""
    with tempfile.TemporaryDirectory() as tmp:
        dump = Path(tmp) / "profile.prof"
        result = _run_worker(python, "asyncz_like", case, ("--profile", str(dump)))
        out = RUNS_DIR / f"profile-{case.key}.txt"
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        with out.open("w") as stream:
            stream.write(f"# {case.key} {json.dumps(case.params)}\n# {json.dumps(result)}\n")
            stats = pstats.Stats(str(dump), stream=stream)
            stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
            stats.sort_stats("tottime").print_stats(lines)
            passes = Path(f"{dump}.passes")
            if passes.exists():  # the loop passes, run in the store's I/O thread
                stream.write("\n# loop passes (the pass method, in its own thread)\n")
                stats = pstats.Stats(str(passes), stream=stream)
                stats.strip_dirs().sort_stats("cumulative").print_stats(lines)
                stats.sort_stats("tottime").print_stats(lines)
    print(out.read_text())
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
