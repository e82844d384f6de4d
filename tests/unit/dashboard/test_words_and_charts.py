"""Triggers in words and the SVG charts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from asyncz_like.dashboard.charts import line_chart
from asyncz_like.dashboard.words import interval_words, trigger_words
from asyncz_like.triggers import build_trigger


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (300, "every 5 minutes"),
        (1, "every 1 second"),
        (5400, "every 1 hour 30 minutes"),
        (90061, "every 1 day 1 hour 1 minute 1 second"),
        (0.5, "every 0.5 seconds"),
    ],
)
def test_intervals(seconds: float, words: str) -> None:
    assert interval_words(timedelta(seconds=seconds)) == words


@pytest.mark.parametrize(
    ("alias", "options", "words"),
    [
        ("cron", {"hour": 8}, "at 08:00"),
        ("cron", {"hour": 8, "minute": 30, "day_of_week": "mon-fri"}, "at 08:30 on mon-fri"),
        ("cron", {"minute": "*/15"}, "at minute */15 of every hour"),
        ("cron", {"hour": "*/2", "minute": 5}, "at minute 5, hour */2"),
        ("cron", {"day": 1, "hour": 2, "minute": 0}, "at 02:00 on day 1"),
        ("cron", {"second": "*/10"}, "at second */10"),
        ("interval", {"minutes": 5}, "every 5 minutes"),
        (
            "date",
            {"run_at": datetime(2030, 1, 1, 10, tzinfo=UTC)},
            "once at 2030-01-01 10:00:00 UTC",
        ),
    ],
)
def test_triggers(alias: str, options: dict[str, object], words: str) -> None:
    assert trigger_words(build_trigger(alias, options)) == words


def test_combined_triggers() -> None:
    trigger = build_trigger(
        "or",
        {"triggers": [build_trigger("cron", {"hour": 8}), build_trigger("interval", {"hours": 4})]},
    )
    assert trigger_words(trigger) == "(at 08:00 or every 4 hours)"


def test_a_chart_breaks_its_line_at_missing_values_and_escapes_text() -> None:
    chart = str(line_chart("<lateness>", {"p50": [1.0, 2.0, None, 3.0, None, 4.0, 5.0]}, "s"))
    assert chart.startswith("<svg") and chart.endswith("</svg>")
    assert chart.count("<polyline") == 2 and chart.count("<circle") == 1
    assert "&lt;lateness&gt;" in chart and "<lateness>" not in chart
    assert ">5.0 s<" in chart  # the top of the y axis


def test_an_empty_chart_and_a_rate() -> None:
    assert "<polyline" not in str(line_chart("runs", {"runs": [None] * 60}))
    assert ">100%<" in str(line_chart("errors", {"errors": [0.25, 0.5]}, "%"))
