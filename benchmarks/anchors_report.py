"""The figures of ``anchors.py``: medians, percentiles, the side-by-side table, the files.

Standard library only, so that the unit tests import it without any anchor installed.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: contender key -> metric -> one value per repetition
Figures = dict[str, dict[str, list[float]]]

#: (metric, column title, digits); a metric missing for a contender shows "-".
COLUMNS = (
    ("drain", "drain, runs/s ↑", 0),
    ("ours_over_drain", "our drain ÷ this ↑", 2),
    ("p50", "start p50, ms ↓", 1),
    ("p99", "start p99, ms ↓", 1),
    ("idle_cpu", "idle CPU, % ↓", 2),
)


@dataclass(frozen=True)
class Contender:
    """One library on one server: a row of the table."""

    key: str
    library: str
    server: str
    ours: bool = False


def percentiles(latencies_ms: Sequence[float]) -> tuple[float, float]:
    """p50 and p99 of ``latencies_ms``, as ``drain.latency`` takes them."""
    if not latencies_ms:
        raise ValueError("latencies_ms is empty: no job started")
    late = sorted(latencies_ms)
    return statistics.median(late), late[min(len(late) - 1, int(len(late) * 0.99))]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def medians(contenders: Sequence[Contender], figures: Figures) -> dict[str, dict[str, float]]:
    """Each contender's median per metric, and ``ours_over_drain``: the drain of ours on the
    same server divided by this contender's."""
    found = {
        contender.key: {
            metric: value
            for metric, values in figures.get(contender.key, {}).items()
            if (value := median(values)) is not None
        }
        for contender in contenders
    }
    for contender in contenders:
        ours = next((c for c in contenders if c.ours and c.server == contender.server), None)
        theirs = found[contender.key].get("drain")
        if ours is not None and not contender.ours and theirs:
            our_drain = found[ours.key].get("drain")
            if our_drain is not None:
                found[contender.key]["ours_over_drain"] = our_drain / theirs
    return found


def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table(contenders: Sequence[Contender], figures: Figures) -> str:
    """The markdown table: one row per contender, grouped by server, ours first."""
    found = medians(contenders, figures)
    header = ["server", "library", *(title for _, title, _ in COLUMNS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for contender in contenders:
        cells = [contender.server, contender.library]
        cells += [_cell(found[contender.key].get(metric), digits) for metric, _, digits in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(directory: Path, stem: str, text: str, figures: Figures, meta: Mapping[str, Any]) -> Path:
    """Replace ``<stem>.md`` (the table and how it was made) and ``<stem>.json`` (every value)."""
    directory.mkdir(parents=True, exist_ok=True)
    notes = "\n".join(f"- {key}: {value}" for key, value in meta.items())
    markdown = directory / f"{stem}.md"
    markdown.write_text(
        f"# Brokers beside their anchors {meta.get('date', stem)}\n\n{notes}\n\n"
        "Medians over the repetitions; ↓ lower is better, ↑ higher is better.\n\n"
        f"{text}\n"
    )
    data = {"meta": dict(meta), "figures": figures}
    (directory / f"{stem}.json").write_text(json.dumps(data, indent=1, sort_keys=True))
    return markdown
