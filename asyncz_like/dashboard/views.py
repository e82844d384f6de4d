"""The pages (GET): overview, tasks, runs, one run, queues and workers, broken records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from asyncz_like.brokers.records import WorkerInfo
from asyncz_like.brokers.retrying import RETRY_OF, RETRYABLE
from asyncz_like.conversions import age_words
from asyncz_like.dashboard.charts import line_chart
from asyncz_like.dashboard.context import Dashboard, dashboard_of
from asyncz_like.dashboard.metrics import Outcome
from asyncz_like.dashboard.security import allow
from asyncz_like.dashboard.words import trigger_words
from asyncz_like.exceptions import BrokenRecordError
from asyncz_like.runs.status import RunStatus

RUNS_SHOWN = 100


@dataclass(frozen=True, slots=True)
class TaskRow:
    id: str
    name: str | None
    store: str | None
    trigger: str
    next_run_time: datetime | None
    paused: bool
    outcome: Outcome | None


@allow("viewer")
def overview(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    dashboard.scheduler.flush_run_records()  # the collector hears of the latest fires
    series = dashboard.collector.series()
    charts = [
        line_chart("Fires and runs per minute", {"fires": series.fires, "runs": series.runs}),
        line_chart("Error rate", {"errors": series.error_rate}, "%"),
        line_chart("Fire lateness", {"p50": series.lateness_p50, "p99": series.lateness_p99}, "s"),
        line_chart("Run duration", {"p50": series.duration_p50, "p99": series.duration_p99}, "s"),
    ]
    scheduler = dashboard.scheduler
    context = {
        "charts": charts,
        "totals": series.totals,
        "state": scheduler.state.name.removeprefix("STATE_").lower(),
        "task_count": len(scheduler.get_tasks()),
        "stats": scheduler.stats(),
    }
    return dashboard.pages.render(request, "overview.html", context, live=True)


@allow("viewer")
def tasks(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    dashboard.scheduler.flush_run_records()  # the latest outcomes
    rows = [
        TaskRow(
            task.id,
            task.name,
            task.store_alias,
            trigger_words(task.trigger),
            task.next_run_time,
            task.next_run_time is None,
            dashboard.collector.outcome(task.id),
        )
        for task in dashboard.scheduler.get_tasks()
    ]
    rows.sort(key=_task_order)
    return dashboard.pages.render(request, "tasks.html", {"rows": rows}, live=True)


@allow("viewer")
def runs(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    status = request.query_params.get("status") or None
    if status is not None and status not in RunStatus.__members__.values():
        return dashboard.pages.message(request, f"status must be one of {_statuses()}", 400)
    listed = dashboard.scheduler.list_runs(status=status, limit=RUNS_SHOWN)
    context = {
        "runs": listed,
        "status": status,
        "statuses": [s.value for s in RunStatus],
        "retryable": _retryable(dashboard),
    }
    return dashboard.pages.render(request, "runs.html", context, live=True)


@allow("viewer")
def run_detail(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    run = dashboard.scheduler.get_run(request.path_params["run_id"])
    if run is None:
        return dashboard.pages.message(request, "No run has this id (or it expired).", 404)
    context = {
        "run": run,
        "retryable": _retryable(dashboard),
        "retry_of": _retry_of(dashboard, run.id),
        "task_exists": _task_exists(dashboard, run.task_id),
    }
    return dashboard.pages.render(request, "run.html", context, live=True)


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """A worker the broker knows, and how long ago its last heartbeat came."""

    info: WorkerInfo
    heartbeat: str


@allow("viewer")
def queues(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    scheduler = dashboard.scheduler
    now = scheduler.clock.now()
    workers = [
        WorkerRow(info, age_words((now - info.last_heartbeat).total_seconds()))
        for info in scheduler.list_workers()
    ]
    workers.sort(key=lambda row: not row.info.alive)  # alive first, each by host, pid, id
    context: dict[str, Any] = {
        "stats": scheduler.stats(),
        "broker": scheduler.broker is not None,
        "workers": workers,
        "running": scheduler.list_runs(status=RunStatus.RUNNING, limit=RUNS_SHOWN),
        "failed": scheduler.list_runs(status=[RunStatus.FAILED, RunStatus.TIMEOUT], limit=20),
    }
    return dashboard.pages.render(request, "queues.html", context, live=True)


@allow("viewer")
def broken(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    records = [
        (store, task_id, reason)
        for store, found in sorted(dashboard.scheduler.get_broken_records().items())
        for task_id, reason in sorted(found.items())
    ]
    return dashboard.pages.render(request, "broken.html", {"records": records}, live=True)


def _task_order(row: TaskRow) -> tuple[bool, float, str]:
    """Soonest fire first, paused tasks last, then by id."""
    due = row.next_run_time
    return (due is None, due.timestamp() if due is not None else 0.0, row.id)


def _retryable(dashboard: Dashboard) -> frozenset[str]:
    """The statuses a run may be retried from: those of RETRYABLE with a broker that keeps
    the calls of ended runs; none otherwise (a run of this process keeps no call once it
    ends)."""
    broker = dashboard.scheduler.broker
    if broker is None or not broker.keeps_ended_calls:
        return frozenset()
    return frozenset(status.value for status in RETRYABLE)


def _retry_of(dashboard: Dashboard, run_id: str) -> str | None:
    """The id of the run that ``run_id`` retries, when the broker still keeps its call."""
    broker = dashboard.scheduler.broker
    if broker is None:
        return None
    try:
        call = broker.get_envelope(run_id)
    except BrokenRecordError:
        return None
    return None if call is None else call.headers.get(RETRY_OF)


def _task_exists(dashboard: Dashboard, task_id: str | None) -> bool:
    return task_id is not None and dashboard.scheduler.get_task(task_id) is not None


def _statuses() -> str:
    return ", ".join(status.value for status in RunStatus)
