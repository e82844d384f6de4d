"""Line charts of the last hour as SVG markup, drawn on the server (no JavaScript)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 600, 170
LEFT, RIGHT, TOP, BOTTOM = 52, 8, 22, 22


def _scale(values: Sequence[Sequence[float | None]]) -> float:
    top = max((v for series in values for v in series if v is not None), default=0.0)
    return top if top > 0 else 1.0


def _polylines(values: Sequence[float | None], top: float, css: str) -> list[str]:
    """One polyline per unbroken stretch of values (None breaks the line)."""
    step = (WIDTH - LEFT - RIGHT) / max(len(values) - 1, 1)
    plot = HEIGHT - TOP - BOTTOM
    lines: list[str] = []
    points: list[str] = []
    for index, value in enumerate([*values, None]):
        if value is None:
            if len(points) == 1:
                cx, cy = points[0].split(",")
                lines.append(f'<circle class="{css}" cx="{cx}" cy="{cy}" r="2"/>')
            elif points:
                lines.append(f'<polyline class="{css}" points="{" ".join(points)}"/>')
            points = []
            continue
        x = LEFT + index * step
        y = TOP + plot - plot * value / top
        points.append(f"{x:.1f},{y:.1f}")
    return lines


def _number(value: float, unit: str) -> str:
    if unit == "%":
        return f"{value * 100:.0f}%"
    if unit == "s":
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"
    return f"{value:g}"


def line_chart(title: str, series: dict[str, Sequence[float | None]], unit: str = "") -> Markup:
    """An SVG chart of one or more series sharing a y axis (``unit``: ``""``, ``"s"`` or
    ``"%"``, where values are fractions); each series a CSS class ``s0``, ``s1``..."""
    top = 1.0 if unit == "%" else _scale(list(series.values()))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text class="title" x="{LEFT}" y="14">{escape(title)}</text>',
        f'<line class="axis" x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}"/>',
        f'<text class="tick" x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">'
        f"{escape(_number(top, unit))}</text>",
        f'<text class="tick" x="{LEFT - 4}" y="{HEIGHT - BOTTOM}" text-anchor="end">0</text>',
        f'<text class="tick" x="{LEFT}" y="{HEIGHT - 6}">-60 min</text>',
        f'<text class="tick" x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">now</text>',
    ]
    for index, (name, values) in enumerate(series.items()):
        parts.extend(_polylines(values, top, f"s{index}"))
        x = WIDTH - RIGHT - 110 * (len(series) - index)
        parts.append(f'<text class="legend s{index}" x="{x}" y="14">{escape(name)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
