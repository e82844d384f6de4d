"""Medians, the comparison table, and the results files."""

from __future__ import annotations

import json
import math
import platform
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from catalog import Row, Scenario
from envs import LIBRARIES

#: case key -> library -> one result dict per repetition
Raw = dict[str, dict[str, list[dict[str, Any]]]]


def median(raw: Raw, case: str, library: str, metric: str) -> float | None:
    values = [
        run[metric]
        for run in raw.get(case, {}).get(library, [])
        if isinstance(run.get(metric), int | float) and not math.isnan(run[metric])
    ]
    return statistics.median(values) if values else None


def _number(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _ratio(other: float | None, ours: float | None) -> str:
    if other is None or not ours:
        return "-"
    return f"{other / ours:.2f}"


def table(scenarios: Sequence[Scenario], raw: Raw) -> str:
    """The markdown table: one row per figure, medians, and the anchors over us."""
    ours, *anchors = LIBRARIES
    header = ["scenario", *(lib.label for lib in LIBRARIES)]
    header += [f"{lib.label}/us" for lib in anchors]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += [
        "| " + " | ".join(_cells(row, raw, ours.name, anchors)) + " |"
        for scenario in scenarios
        for row in scenario.rows
    ]
    return "\n".join(lines)


def not_applicable(raw: Raw, case: str, library: str) -> bool:
    """Every run of ``library`` in ``case`` said the case does not apply to it (``na``)."""
    runs = raw.get(case, {}).get(library, [])
    return bool(runs) and all("na" in run for run in runs)


def _cells(row: Row, raw: Raw, ours: str, anchors: Sequence[Any]) -> list[str]:
    arrow = "↓" if row.better == "lower" else "↑"
    values = {lib.name: median(raw, row.case, lib.name, row.metric) for lib in LIBRARIES}
    cells = [f"{row.label} {arrow}"]
    cells += [
        "n/a" if not_applicable(raw, row.case, lib.name) else _number(values[lib.name], row.digits)
        for lib in LIBRARIES
    ]
    cells += [_ratio(values[lib.name], values[ours]) for lib in anchors]
    return cells


def write(
    directory: Path, stem: str, text: str, raw: Raw, meta: Mapping[str, Any]
) -> tuple[Path, Path]:
    """Write ``<stem>.md`` (the table and how it was made) and ``<stem>.json`` (every run).

    Files of the same stem are replaced: ``results/`` keeps one full run, git the earlier ones.
    """
    directory.mkdir(parents=True, exist_ok=True)
    markdown, data = directory / f"{stem}.md", directory / f"{stem}.json"
    notes = "\n".join(f"- {key}: {value}" for key, value in meta.items())
    markdown.write_text(
        f"# Benchmarks {meta.get('date', stem)}\n\n{notes}\n\n"
        "Medians over the repetitions; ↓ lower is better, ↑ higher is better; "
        "the last columns divide each anchor's figure by ours.\n\n"
        f"{text}\n"
    )
    data.write_text(json.dumps({"meta": dict(meta), "runs": raw}, indent=1, sort_keys=True))
    return markdown, data


def machine() -> str:
    return f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
