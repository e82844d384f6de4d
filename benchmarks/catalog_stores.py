"""The persistent-store scenarios: 1, 2 and 3 on each store, 6 on PostgreSQL, 7 (scale-out).

Their cases name their store in ``params["store"]`` (``--store`` does not change them). To fit
the whole run in the 15 minutes of ``make bench``, the cases that take long for the anchors
(adds, bursts of 2,000, lateness for 10 s, wake-ups, scale-out) run once (``ONCE``); give
``--repetitions 3`` for medians of three (about 40 minutes). See benchmarks/README.md.
"""

from __future__ import annotations

from typing import Any

from catalog import ALL, OURS, Case, Row, Scenario

#: Repetitions of the long persistent-store cases in a default run (see the docstring).
ONCE = 1

#: The persistent stores, as the table names them.
STORES = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mariadb": "MariaDB", "redis": "Redis"}


def store_scenarios(quick: bool) -> list[Scenario]:
    return [
        _add(quick),
        _burst(quick),
        _lateness(quick),
        _wakeup(quick),
        _scaleout(quick),
    ]


def _add(quick: bool) -> Scenario:
    """1 on each store: ms per add at 1k (all) and 10k (ours; the anchors take minutes),
    and ours through ``add_tasks`` in batches of 500."""
    scenario = Scenario(1, "store-add")
    small, large = (200, 1_000) if quick else (1_000, 10_000)
    for kind, label in STORES.items():
        for n, libraries, bulk in ((small, ALL, 0), (large, OURS, 0), (large, OURS, 500)):
            key = f"store-add-{kind}-{'bulk' if bulk else _size(n)}"
            params: dict[str, Any] = {"n": n, "store": kind, "bulk": bulk}
            if n == small and not bulk:
                params["floors"] = FLOOR_WRITES
            scenario.cases.append(Case(key, "add", params, libraries, ONCE))
            what = f"add_tasks {_size(n)} (by {bulk})" if bulk else f"add {_size(n)}"
            scenario.rows.append(Row(f"1. {label} {what}: ms/add", key, "add_ms", digits=3))
            if not bulk:
                scenario.rows.append(
                    Row(f"1. {label} {what}: last/first tenth", key, "flatness", digits=2)
                )
            if "floors" in params:
                scenario.rows.extend(
                    Row(f"1. {label} {what}: floor, {floor}", key, metric, digits=3)
                    for floor, metric in (REDIS_FLOORS if kind == "redis" else SQL_FLOORS)
                )
    return scenario


#: Writes per floor under an add (``floors.py``), measured by asyncz_like after its adds.
FLOOR_WRITES = 300
SQL_FLOORS = (
    ("a bare INSERT + commit (driver): ms", "insert_driver_ms"),
    ("the same through SQLAlchemy: ms", "insert_sqlalchemy_ms"),
)
REDIS_FLOORS = (
    ("PING (round trip): ms", "ping_ms"),
    ("our add script, record made: ms", "add_script_ms"),
)


def _burst(quick: bool) -> Scenario:
    """2 on each store: N due at once (the scheduler paused while they are added)."""
    scenario = Scenario(2, "store-burst")
    n = 300 if quick else 2_000
    for kind, label in STORES.items():
        key = f"store-burst-{kind}"
        params = {
            "n": n, "mode": "async", "store": kind, "paused": True, "margin": 0.0,
            "stall": 3.0 if quick else 5.0, "timeout": 60.0,
        }  # fmt: skip
        scenario.cases.append(Case(key, "burst", params, repetitions=ONCE))
        what = f"2. {label} {_size(n)} due"
        scenario.rows.extend(
            [
                Row(f"{what}: fires/s", key, "fires_per_s", "higher", 0),
                Row(f"{what}: runs made of {n:,}", key, "runs", "higher", 0),
                Row(f"{what}: first fire ms", key, "first_fire_ms"),
                Row(f"{what}: max loop block ms", key, "max_loop_block_ms"),
            ]
        )
    return scenario


def _lateness(quick: bool) -> Scenario:
    """3 on each store: 20 tasks every 50 ms."""
    scenario = Scenario(3, "store-lateness")
    duration = 2.0 if quick else 10.0
    for kind, label in STORES.items():
        key = f"store-lateness-{kind}"
        params = {"tasks": 20, "interval": 0.05, "duration": duration, "lead": 1.0, "store": kind}
        scenario.cases.append(Case(key, "lateness", params, repetitions=ONCE))
        what = f"3. {label} lateness 20x50 ms"
        scenario.rows.extend(
            [
                Row(f"{what}: {metric} ms", key, f"{metric}_ms", digits=2)
                for metric in ("p50", "p99", "max")
            ]
        )
        scenario.rows.append(Row(f"{what}: runs/expected", key, "runs_ratio", "higher", 3))
    return scenario


def _wakeup(quick: bool) -> Scenario:
    """6 on PostgreSQL: per-fire cost with 1k and with 1M stored (ours; the 1M rows are bulk
    inserted as records our serializer made)."""
    scenario = Scenario(6, "store-wakeup")
    sizes = [(1_000, ALL), (10_000, OURS)] if quick else [(1_000, ALL), (1_000_000, OURS)]
    for n, libraries in sizes:
        key = f"store-wakeup-postgresql-{_size(n)}"
        params = {
            "n": n, "hot": 100, "window": 1.0 if quick else 2.0, "store": "postgresql",
            "preload": libraries == OURS,
        }  # fmt: skip
        scenario.cases.append(Case(key, "wakeup", params, libraries, ONCE))
        what = f"6. PostgreSQL {_size(n)} stored"
        scenario.rows.extend(
            [
                Row(f"{what}: µs per pass", key, "pass_us"),
                Row(f"{what}: CPU µs per fire", key, "cpu_per_fire_us"),
                Row(f"{what}: fires/s (100 due per 100 ms)", key, "fires_per_s", "higher", 0),
            ]
        )
    return scenario


def _scaleout(quick: bool) -> Scenario:
    """7: four scheduler processes sharing PostgreSQL, then Redis."""
    scenario = Scenario(7, "scaleout")
    n = 500 if quick else 2_000
    for kind in ("postgresql", "redis"):
        key = f"scaleout-{kind}"
        params = {"n": n, "processes": 4, "store": kind, "stall": 3.0, "timeout": 60.0}
        scenario.cases.append(Case(key, "scaleout", params, repetitions=ONCE))
        what = f"7. 4 schedulers on {STORES[kind]}, {_size(n)} due"
        scenario.rows.extend(
            [
                Row(f"{what}: fires/s in total", key, "fires_per_s", "higher", 0),
                Row(f"{what}: duplicates", key, "duplicates", digits=0),
                Row(f"{what}: runs made of {n:,}", key, "runs", "higher", 0),
            ]
        )
    return scenario


def _size(n: int) -> str:
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n / 1000:g}k"
