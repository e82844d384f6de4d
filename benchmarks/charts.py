"""Draw the charts of docs/performance.md from a results file (needs matplotlib).

``python benchmarks/charts.py`` reads ``benchmarks/results/latest.json`` and writes
``docs/charts/memory.svg`` and ``docs/charts/stores.svg``: the medians of asyncz_like,
APScheduler 3 and asyncz side by side. Install matplotlib with ``pip install -e '.[bench]'``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import report
from envs import BENCH_DIR, LIBRARIES, REPO_DIR
from matplotlib.ticker import FuncFormatter, NullFormatter

NAMES = {"asyncz_like": "asyncz_like", "apscheduler3": "APScheduler 3", "asyncz": "asyncz"}
COLORS = {"asyncz_like": "#2a6fbb", "apscheduler3": "#e08a2c", "asyncz": "#8c8c8c"}
STORES = (
    ("sqlite", "SQLite"),
    ("postgresql", "PostgreSQL"),
    ("mariadb", "MariaDB"),
    ("redis", "Redis"),
)


@dataclass(frozen=True)
class Panel:
    """One chart: a group of bars (one per library) for each (case, metric, label)."""

    title: str
    groups: tuple[tuple[str, str, str], ...]
    log: bool = False


def _per_store(case: str, metric: str) -> tuple[tuple[str, str, str], ...]:
    return tuple((case.format(kind), metric, name) for kind, name in STORES)


MEMORY = (
    Panel(
        "add a task, µs ↓",
        tuple((f"add-{n}", "add_us", f"{n} adds") for n in ("1k", "10k", "100k")),
    ),
    Panel(
        "10,000 due at once, fires/s ↑",
        (
            ("burst-async", "fires_per_s", "coroutines"),
            ("burst-thread", "fires_per_s", "thread pool"),
        ),
    ),
    Panel(
        "lateness, 20 tasks every 50 ms, ms ↓",
        (("lateness", "p50_ms", "p50"), ("lateness", "p99_ms", "p99")),
    ),
    Panel(
        "wake-up pass, µs ↓",
        tuple((f"wakeup-{n}", "pass_us", f"{n} stored") for n in ("1k", "100k")),
    ),
)

STORE_PANELS = (
    Panel("add a task (1k adds), ms ↓", _per_store("store-add-{}-1k", "add_ms")),
    Panel("2,000 due at once, fires/s ↑", _per_store("store-burst-{}", "fires_per_s")),
    Panel(
        "lateness p99, 20 tasks every 50 ms, ms ↓ (log)",
        _per_store("store-lateness-{}", "p99_ms"),
        log=True,
    ),
    Panel(
        "four schedulers on one store, fires/s ↑",
        (
            ("scaleout-postgresql", "fires_per_s", "PostgreSQL"),
            ("scaleout-redis", "fires_per_s", "Redis"),
        ),
    ),
)


def draw(panels: Sequence[Panel], raw: report.Raw, caption: str, path: Path) -> None:
    """Two by two panels of grouped bars, one bar per library, its median written on it."""
    figure, axes = plt.subplots(2, 2, figsize=(10, 6.4))
    for axis, panel in zip(axes.flat, panels, strict=True):
        _bars(axis, panel, raw)
    handles = [plt.Rectangle((0, 0), 1, 1, color=COLORS[lib.name]) for lib in LIBRARIES]
    figure.legend(handles, [NAMES[lib.name] for lib in LIBRARIES], loc="upper center", ncol=3)
    figure.text(0.5, 0.01, caption, ha="center", fontsize=8, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 0.94))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, metadata={"Date": None})
    plt.close(figure)


def _bars(axis: Any, panel: Panel, raw: report.Raw) -> None:
    width = 0.8 / len(LIBRARIES)
    for index, library in enumerate(LIBRARIES):
        values = [
            report.median(raw, case, library.name, metric) for case, metric, _ in panel.groups
        ]
        xs = [group + (index - 1) * width for group in range(len(panel.groups))]
        heights = [value or 0.0 for value in values]
        bars = axis.bar(xs, heights, width, color=COLORS[library.name])
        labels = ["none" if value is None else _short(value) for value in values]
        axis.bar_label(bars, labels, fontsize=7, padding=1)
    axis.set_title(panel.title, fontsize=10)
    axis.set_xticks(range(len(panel.groups)), [label for *_, label in panel.groups])
    if panel.log:
        axis.set_yscale("log")
        axis.yaxis.set_minor_formatter(NullFormatter())
    axis.yaxis.set_major_formatter(FuncFormatter(_tick))
    axis.margins(y=0.15)
    axis.spines[["top", "right"]].set_visible(False)


def _tick(value: float, _position: int) -> str:
    return f"{value / 1000:g}k" if value >= 1_000 else f"{value:g}"


def _short(value: float) -> str:
    if value == 0:
        return "0"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    if value >= 1_000:
        return f"{value / 1000:.1f}k"
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--results", type=Path, default=BENCH_DIR / "results" / "latest.json")
    parser.add_argument("--out", type=Path, default=REPO_DIR / "docs" / "charts")
    args = parser.parse_args(argv)
    data = json.loads(args.results.read_text())
    meta, raw = data["meta"], data["runs"]
    caption = (
        f"Medians of benchmarks/results/{args.results.name}: {meta['date'][:10]}, "
        f"{meta['machine']}, {meta['cpus']} CPUs, code {meta['asyncz_like_code']}"
    )
    # Reproducible SVG files: fixed ids, no date, text kept as text.
    plt.rcParams.update({"svg.hashsalt": "asyncz_like", "svg.fonttype": "none"})
    for name, panels in (("memory", MEMORY), ("stores", STORE_PANELS)):
        path = args.out / f"{name}.svg"
        draw(panels, raw, caption, path)
        print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
