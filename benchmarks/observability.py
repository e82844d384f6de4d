"""What Prometheus metrics and OpenTelemetry traces cost: the burst scenario (scenario 2) and a
broker drain, each without and with both instrumentations, in the same run.

Run it from the repository with its venv::

    PYTHONPATH=. .venv/bin/python benchmarks/observability.py [--repetitions 5] [--n 10000]
        [--mode async --mode thread] [--drain-runs 2000] [--drain-runs 0]

Each repetition of each case runs in a fresh subprocess; ``off`` and ``on`` alternate (off
first in even repetitions, on first in odd ones) and the table gives medians. ``on`` is
``contrib.prometheus.instrument(scheduler, registry)`` and
``contrib.opentelemetry.instrument(scheduler, provider)`` on the scheduler before its start,
with an SDK TracerProvider whose BatchSpanProcessor exports to memory. After the measured part
an ``on`` run scrapes its registry once and checks that every fire or run was counted.

- burst: N date tasks due at one instant, fires/s as scenario 2 measures it (no broker: the
  traces have nothing to do there, the metrics count every fire);
- drain: N no-op coroutine runs submitted through a memory broker to the scheduler's own
  worker (concurrency 20), runs/s from the first submit to the last completion (a producer
  and a consumer span per run, the run counters and the broker's call timers).

The machine's load average is printed with the figures: on a shared machine, read the ratio
of the medians, not the absolute figures.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VARIANTS = ("off", "on")
TARGET = "benchmarks.observability:noop"


# -- in the child process --------------------------------------------------------------------


def _instrument(scheduler: Any) -> dict[str, Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from prometheus_client import CollectorRegistry

    from asyncz_like.contrib import opentelemetry, prometheus

    registry = CollectorRegistry()
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    prometheus.instrument(scheduler, registry)
    opentelemetry.instrument(scheduler, provider)
    return {"registry": registry, "provider": provider, "exporter": exporter}


def _counted(made: dict[str, Any], name: str) -> dict[str, float]:
    """Scrape the registry once: how long it took and the sum of one counter."""
    from prometheus_client import generate_latest

    started = time.perf_counter()
    generate_latest(made["registry"])
    scrape_ms = (time.perf_counter() - started) * 1e3
    total = sum(
        sample.value
        for family in made["registry"].collect()
        for sample in family.samples
        if sample.name == f"asyncz_like_{name}_total"
    )
    made["provider"].force_flush()
    return {
        "scrape_ms": scrape_ms,
        f"{name}_counted": total,
        "spans": len(made["exporter"].get_finished_spans()),
    }


def child_burst(variant: str, mode: str, n: int) -> dict[str, Any]:
    sys.path.insert(0, str(HERE))
    from adapters import load_adapter
    from scenarios import burst

    adapter = load_adapter("asyncz_like")
    made: dict[str, Any] = {}
    if variant == "on":
        for name in ("make_async", "make_threaded"):
            original = getattr(adapter, name)

            def made_and_instrumented(*args: Any, _original: Any = original) -> None:
                _original(*args)
                made.update(_instrument(adapter.scheduler))

            setattr(adapter, name, made_and_instrumented)
    result = burst.run(adapter, {"n": n, "margin": 2.5, "mode": mode})
    if made:
        result.update(_counted(made, "fires"))
    return result


def child_drain(variant: str, n: int) -> dict[str, Any]:
    from asyncz_like import BackgroundScheduler
    from asyncz_like.brokers import MemoryBroker
    from asyncz_like.events import RUN_COMPLETED

    scheduler = BackgroundScheduler(timezone="UTC", broker=MemoryBroker(), worker_concurrency=20)
    made = _instrument(scheduler) if variant == "on" else {}
    done, count = threading.Event(), [0]

    def completed(_: Any) -> None:
        count[0] += 1
        if count[0] >= n:
            done.set()

    scheduler.add_worker_listener(completed, RUN_COMPLETED)
    scheduler.start()
    started = time.perf_counter()
    for start in range(0, n, 500):
        scheduler.submit_many([TARGET] * min(500, n - start))
    done.wait(120)
    took = time.perf_counter() - started
    scheduler.shutdown()
    if count[0] < n:
        raise RuntimeError(f"only {count[0]} of {n} runs completed")
    result: dict[str, Any] = {"runs_per_s": n / took}
    if made:
        result.update(_counted(made, "runs"))
    return result


async def noop() -> None:
    """What the drain's runs call."""


# -- CPU instructions (callgrind) -------------------------------------------------------------

#: ``instructions.py``'s script, instrumented as ASYNCZ_LIKE_OBSERVE says (a variant of
#: INSTRUCTION_VARIANTS), with the fires counted at the end (as a scrape or a stats() would).
_OBSERVE = """
import os
def observe(scheduler):
    variant = os.environ.get("ASYNCZ_LIKE_OBSERVE", "off")
    if variant == "off":
        return
    from opentelemetry.sdk.trace import TracerProvider
    from prometheus_client import CollectorRegistry
    from asyncz_like.contrib import opentelemetry, prometheus
    prometheus.instrument(scheduler, CollectorRegistry())
    if variant != "metrics":
        in_process = variant == "on"
        opentelemetry.instrument(scheduler, TracerProvider(), in_process=in_process)
"""
#: off; both instrumentations as instrument() sets them up; traces without in-process spans
#: (``in_process=False``: nothing traced in a burst without a broker); metrics alone.
INSTRUCTION_VARIANTS = ("off", "on", "on-no-in-process", "metrics")


def instruction_script() -> str:
    from instructions import SCRIPT

    start, fired = "    scheduler.start()\n", "                scheduler.process_tasks(128)\n"
    if start not in SCRIPT or fired not in SCRIPT:
        raise RuntimeError("benchmarks/instructions.py's script changed: update this one")
    script = SCRIPT.replace(start, "    observe(scheduler)\n" + start)
    script = script.replace(fired, fired + "            scheduler.stats()\n")
    return script.replace("OPERATION, COUNT =", _OBSERVE + "OPERATION, COUNT =", 1)


def instructions_per_fire(
    small: int, large: int, variants: tuple[str, ...] = INSTRUCTION_VARIANTS
) -> dict[str, float]:
    """Instructions per burst fire, adds included, per variant of INSTRUCTION_VARIANTS."""
    sys.path.insert(0, str(HERE))
    from instructions import count_instructions

    compileall.compile_dir(ROOT / "asyncz_like", quiet=1)  # no compiling inside a count
    script = ROOT / ".observability_script.py"
    script.write_text(instruction_script())
    per: dict[str, float] = {}
    try:
        for variant in variants:
            os.environ["ASYNCZ_LIKE_OBSERVE"] = variant
            low = count_instructions(Path(sys.executable), ROOT, script, "fire", small)
            high = count_instructions(Path(sys.executable), ROOT, script, "fire", large)
            per[variant] = (high - low) / (large - small)
    finally:
        script.unlink(missing_ok=True)
        os.environ.pop("ASYNCZ_LIKE_OBSERVE", None)
    return per


# -- the parent ------------------------------------------------------------------------------


def _child(args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    out = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("RESULT "):
            result: dict[str, Any] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"{args}: no result\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--n", type=int, default=10_000, help="tasks of the burst")
    parser.add_argument("--mode", action="append", choices=["async", "thread"])
    parser.add_argument("--drain-runs", type=int, default=2000, help="0: no drain case")
    parser.add_argument(
        "--instructions",
        type=int,
        nargs=2,
        default=(2000, 12000),
        metavar=("SMALL", "LARGE"),
        help="burst sizes of the callgrind count (0 0: none)",
    )
    parser.add_argument(
        "--variant",
        action="append",
        choices=INSTRUCTION_VARIANTS,
        help="variants of the callgrind count (repeat; default: all)",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, variant, *rest = args.child
        if kind == "burst":
            result = child_burst(variant, rest[0], int(rest[1]))
        else:
            result = child_drain(variant, int(rest[0]))
        print("RESULT " + json.dumps(result), flush=True)
        return 0
    cases: list[tuple[str, list[str], str]] = [
        (f"burst-{mode}", ["burst", "{v}", mode, str(args.n)], "fires_per_s")
        for mode in args.mode or ["async"]
    ]
    if args.drain_runs:
        cases.append(("drain-memory", ["drain", "{v}", str(args.drain_runs)], "runs_per_s"))
    print(
        f"load average before: {os.getloadavg()[0]:.2f}; {os.cpu_count()} CPUs; "
        f"{args.repetitions} repetitions",
        flush=True,
    )
    figures: dict[tuple[str, str], list[dict[str, Any]]] = {}
    loads = []
    for repetition in range(args.repetitions):
        order = VARIANTS if repetition % 2 == 0 else VARIANTS[::-1]
        for name, template, _ in cases:
            for variant in order:
                child_args = [part.replace("{v}", variant) for part in template]
                figures.setdefault((name, variant), []).append(_child(child_args))
                loads.append(os.getloadavg()[0])
    if loads:
        print(
            f"\nmedians of {args.repetitions} (load average: {min(loads):.2f} to {max(loads):.2f})"
        )
        _table(cases, figures)
    if shutil.which("valgrind") and args.instructions[0] < args.instructions[1]:
        per = instructions_per_fire(*args.instructions, tuple(args.variant or INSTRUCTION_VARIANTS))
        print(
            f"\nCPU instructions per burst fire, add included (callgrind, "
            f"{args.instructions[0]:,} and {args.instructions[1]:,} tasks; load average "
            f"{os.getloadavg()[0]:.2f}):"
        )
        for variant, count in per.items():
            ratio = f", /off {count / per['off']:.3f}" if "off" in per else ""
            print(f"  {variant:<18} {count:>10,.0f}{ratio}")
    return 0


def _table(cases: list[tuple[str, list[str], str]], figures: dict[Any, list[Any]]) -> None:
    print(f"{'case':<14} {'figure':<12} {'off':>10} {'on':>10} {'on/off':>8}  checks (on)")
    for name, _, figure in cases:
        off = statistics.median(r[figure] for r in figures[name, "off"])
        on_runs = figures[name, "on"]
        on = statistics.median(r[figure] for r in on_runs)
        checks = {
            key: statistics.median(r[key] for r in on_runs)
            for key in on_runs[0]
            if key.endswith(("_counted", "scrape_ms", "spans"))
        }
        print(
            f"{name:<14} {figure:<12} {off:>10,.0f} {on:>10,.0f} {on / off:>8.3f}  "
            f"{json.dumps(checks)}"
        )
        print(f"{'':<14} {'all off':<12} {[round(r[figure]) for r in figures[name, 'off']]}")
        print(f"{'':<14} {'all on':<12} {[round(r[figure]) for r in on_runs]}")


if __name__ == "__main__":
    sys.exit(main())
