"""The scenarios: which cases run for which libraries, and which figures make the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ALL = ("asyncz_like", "apscheduler3", "asyncz")
OURS = ("asyncz_like",)


@dataclass(frozen=True)
class Case:
    """One subprocess run per library and repetition: ``scenarios/<scenario>.py``."""

    key: str
    scenario: str
    params: dict[str, Any]
    libraries: tuple[str, ...] = ALL
    repetitions: int | None = None  # None: the run's default (3, or 1 with --quick)
    #: The libraries of a repetition run at once: only for figures that CPU contention does
    #: not change (bytes allocated; CPU used while idle), to keep `make bench` short.
    side_by_side: bool = False


@dataclass(frozen=True)
class Row:
    """A table row: the median of ``metric`` over the repetitions of ``case``."""

    label: str
    case: str
    metric: str
    better: Literal["lower", "higher"] = "lower"
    digits: int = 1


@dataclass(frozen=True)
class Scenario:
    number: int
    name: str
    cases: list[Case] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def build(quick: bool, store: str = "memory") -> list[Scenario]:
    """Every scenario, smaller and shorter with ``quick``."""
    scenarios = [
        _add(quick),
        _burst(quick),
        _lateness(quick),
        _idle(quick),
        _memory(quick),
        _wakeup(quick),
    ]
    for scenario in scenarios:
        for case in scenario.cases:
            case.params["store"] = store
    from catalog_stores import store_scenarios  # it builds on this module's classes

    return scenarios + store_scenarios(quick)


def _add(quick: bool) -> Scenario:
    scenario = Scenario(1, "add")
    sizes = [(1_000, ALL), (10_000, ALL)]
    if not quick:
        sizes += [(100_000, ALL), (1_000_000, OURS)]
    for n, libraries in sizes:
        key = f"add-{_size(n)}"
        repetitions = 1 if n >= 100_000 else None  # the anchors take long: once (README)
        scenario.cases.append(Case(key, "add", {"n": n}, libraries, repetitions))
        scenario.rows.append(Row(f"1. add {_size(n)}: µs/add", key, "add_us"))
        scenario.rows.append(Row(f"1. add {_size(n)}: last/first tenth", key, "flatness", digits=2))
        scenario.rows.append(
            Row(
                f"1. add {_size(n)}: the same, outside GC passes",
                key,
                "flatness_outside_gc",
                digits=2,
            )
        )
    last = scenario.cases[-2] if not quick else scenario.cases[-1]
    _add_before_start(scenario, quick)
    scenario.rows.append(
        Row(
            f"5b. RSS B/task at {_size(last.params['n'])} (from 1)",
            last.key,
            "rss_bytes_per_task",
            digits=0,
        )
    )
    return scenario


def _add_before_start(scenario: Scenario, quick: bool) -> None:
    """Adds to a scheduler not started yet, as apps define their tasks (asyncz at 100k is
    left out: its figure grows with the tasks added before, and it would take minutes)."""
    sizes = [(1_000, ALL), (10_000, ALL)]
    if not quick:
        sizes.append((100_000, ("asyncz_like", "apscheduler3")))
    for n, libraries in sizes:
        key = f"add-before-start-{_size(n)}"
        params = {"n": n, "before_start": True}
        scenario.cases.append(Case(key, "add", params, libraries, 1 if n >= 100_000 else None))
        scenario.rows.append(Row(f"1c. add {_size(n)} before start: µs/add", key, "add_us"))
        scenario.rows.append(
            Row(f"1c. add {_size(n)} before start: last/first tenth", key, "flatness", digits=2)
        )


def _burst(quick: bool) -> Scenario:
    n = 1_000 if quick else 10_000
    margin = 1.0 if quick else 2.5
    scenario = Scenario(2, "burst")
    for mode in ("async", "thread"):
        key = f"burst-{mode}"
        scenario.cases.append(Case(key, "burst", {"n": n, "margin": margin, "mode": mode}))
        what = "async job, asyncio" if mode == "async" else "sync job, thread pool"
        scenario.rows.append(
            Row(f"2. {_size(n)} due ({what}): fires/s", key, "fires_per_s", "higher", 0)
        )
        scenario.rows.append(
            Row(f"2. {_size(n)} due ({what}): first fire ms", key, "first_fire_ms")
        )
        if mode == "async":
            scenario.rows.append(
                Row(f"2. {_size(n)} due ({what}): max loop block ms", key, "max_loop_block_ms")
            )
    # Ours without a run record per fire (record_task_runs=False): what the records cost.
    params = {"n": n, "margin": margin, "mode": "async", "options": {"record_task_runs": False}}
    scenario.cases.append(Case("burst-async-unrecorded", "burst", params, OURS))
    what = f"2. {_size(n)} due (async, no run records): fires/s"
    scenario.rows.append(Row(what, "burst-async-unrecorded", "fires_per_s", "higher", 0))
    return scenario


def _lateness(quick: bool) -> Scenario:
    params = {"tasks": 20, "interval": 0.05, "duration": 2.0 if quick else 10.0}
    scenario = Scenario(3, "lateness", [Case("lateness", "lateness", params)])
    for metric in ("p50", "p99", "max"):
        scenario.rows.append(
            Row(f"3. lateness 20x50 ms: {metric} ms", "lateness", f"{metric}_ms", digits=2)
        )
    scenario.rows.append(
        Row("3. lateness 20x50 ms: runs/expected", "lateness", "runs_ratio", "higher", 3)
    )
    return scenario


def _idle(quick: bool) -> Scenario:
    params = {"n": 1_000, "duration": 1.0 if quick else 5.0}
    row = Row(f"4. idle CPU ms over {params['duration']:g} s, 1k tasks", "idle", "cpu_ms", digits=2)
    return Scenario(4, "idle", [Case("idle", "idle", params, side_by_side=True)], [row])


def _memory(quick: bool) -> Scenario:
    n = 10_000 if quick else 100_000
    case = Case("memory", "memory", {"n": n}, repetitions=1, side_by_side=True)
    row = Row(f"5. tracemalloc B/task at {_size(n)}", "memory", "bytes_per_task", digits=0)
    return Scenario(5, "memory", [case], [row])


def _wakeup(quick: bool) -> Scenario:
    scenario = Scenario(6, "wakeup")
    sizes = (
        [(1_000, ALL), (10_000, ALL)]
        if quick
        else [(1_000, ALL), (100_000, ALL), (1_000_000, OURS)]
    )
    window = 1.0 if quick else 2.0
    for n, libraries in sizes:
        key = f"wakeup-{_size(n)}"
        repetitions = 1 if n >= 100_000 else None  # the anchors take long: once (README)
        params = {"n": n, "hot": 100, "window": window}
        scenario.cases.append(Case(key, "wakeup", params, libraries, repetitions))
        scenario.rows.append(Row(f"6. {_size(n)} stored: µs per pass", key, "pass_us"))
        scenario.rows.append(Row(f"6. {_size(n)} stored: CPU µs per fire", key, "cpu_per_fire_us"))
    return scenario
