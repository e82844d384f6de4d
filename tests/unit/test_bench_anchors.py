"""The figures of benchmarks/anchors.py: medians, percentiles, the table, the jobs' clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.anchor_queues.common import Recorder, paced
from benchmarks.anchors_report import Contender, medians, percentiles, table, write

PG_OURS = Contender("ours-pg", "asyncz_like", "PostgreSQL", ours=True)
PG_PROC = Contender("procrastinate-pg", "procrastinate", "PostgreSQL")
REDIS_SAQ = Contender("saq-redis", "saq", "Redis")


def test_percentiles_take_the_median_and_the_99th_of_the_sorted_values() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, reversed
    assert percentiles(values) == (50.5, 100.0)
    assert percentiles([3.0, 1.0, 2.0]) == (2.0, 3.0)


def test_percentiles_of_nothing_say_so() -> None:
    with pytest.raises(ValueError, match="latencies_ms"):
        percentiles([])


def test_medians_divide_our_drain_by_the_anchors_on_the_same_server_only() -> None:
    figures = {
        "ours-pg": {"drain": [900.0, 1000.0, 1100.0], "p50": [2.0, 9.0, 3.0]},
        "procrastinate-pg": {"drain": [40.0, 50.0, 60.0]},
        "saq-redis": {"drain": [200.0]},
    }
    found = medians([PG_OURS, PG_PROC, REDIS_SAQ], figures)
    assert found["ours-pg"] == {"drain": 1000.0, "p50": 3.0}
    assert found["procrastinate-pg"] == {"drain": 50.0, "ours_over_drain": 20.0}
    assert "ours_over_drain" not in found["saq-redis"]  # no ours on Redis in this run


def test_the_table_has_one_row_per_contender_and_a_dash_for_a_missing_figure() -> None:
    figures = {"ours-pg": {"drain": [1234.0], "idle_cpu": [0.25]}, "procrastinate-pg": {}}
    lines = table([PG_OURS, PG_PROC], figures).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("| server | library | drain, runs/s ↑ |")
    assert lines[2] == "| PostgreSQL | asyncz_like | 1,234 | - | - | - | 0.25 |"
    assert lines[3] == "| PostgreSQL | procrastinate | - | - | - | - | - |"


def test_write_replaces_the_markdown_and_the_json(tmp_path: Path) -> None:
    figures = {"ours-pg": {"drain": [1.0]}}
    write(tmp_path, "anchors", "old", figures, {"date": "then"})
    markdown = write(tmp_path, "anchors", "| table |", figures, {"date": "now", "load": "1.0"})
    text = markdown.read_text()
    assert "old" not in text and "| table |" in text and "- load: 1.0" in text
    data = json.loads((tmp_path / "anchors.json").read_text())
    assert data == {"meta": {"date": "now", "load": "1.0"}, "figures": figures}


def test_the_recorder_counts_distinct_jobs_and_calls_done_once() -> None:
    calls: list[int] = []
    recorder = Recorder(expect=3, warm=1, on_done=lambda: calls.append(1))
    for index in (0, 1, 1, 2):
        recorder.started(index, sent=0.0)
        recorder.ended(index)
    recorder.ended(2)
    report = recorder.report()
    assert calls == [1]
    assert (report["jobs"], report["repeats"]) == (3, 2)
    assert len(report["latency_ms"]) == 3  # index 0 is a warm-up job
    assert report["drain_s"] >= 0


def test_the_recorder_without_warm_up_reports_no_latencies() -> None:
    recorder = Recorder(expect=1, warm=0, on_done=lambda: None)
    recorder.started(0, sent=0.0)
    recorder.ended(0)
    assert recorder.report()["latency_ms"] == []


def test_paced_spreads_jobs_at_the_rate_and_batches_send_at_once() -> None:
    assert paced(3, 50.0) == [0.0, 0.02, 0.04]
    assert paced(2, 0.0) == [0.0, 0.0]
