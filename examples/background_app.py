"""Background work in a web app (Starlette): start it from a request, answer at once, and let
the client follow it.

    POST   /reports        {"kind": "sales", "rows": 20, "urgent": false}
                           -> 202 {"id": ..., "status": "pending", "url": "/reports/<id>"}
    GET    /reports/{id}   -> 200 {"status", "progress", "message", "result", "error", ...}
    DELETE /reports/{id}   -> 200 {"cancelled": true} (409 when it already finished)
    GET    /stats          -> the scheduler's run figures

Run it with ``uvicorn examples.background_app:app`` (``pip install uvicorn``), then:

    curl -X POST localhost:8000/reports -d '{"kind": "sales", "rows": 20}'
    curl localhost:8000/reports/<id>
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asyncz_like.runs import Run, RunStatus, TaskPriority, update_progress
from asyncz_like.schedulers import NativeAsyncIOScheduler

#: Seconds one row of a report takes (the tests make it shorter).
SECONDS_PER_ROW = 0.05

scheduler = NativeAsyncIOScheduler(
    timezone="UTC",
    executors={"default": {"type": "asyncio", "max_concurrent": 4}},  # 4 reports at once
    max_run_history=1000,
    run_result_ttl=3600,
)


@scheduler.background(timeout=120, max_retries=2, retry_backoff=0.5, retry_on=ConnectionError)
async def build_report(kind: str, rows: int) -> dict[str, Any]:
    """The slow work: one row at a time, reporting progress as it goes."""
    total = 0
    for row in range(1, rows + 1):
        await asyncio.sleep(SECONDS_PER_ROW)  # stands for a query
        total += row
        update_progress(100 * row / rows, f"{row}/{rows} rows")
    return {"kind": kind, "rows": rows, "total": total}


def describe(run: Run) -> dict[str, Any]:
    data = run.to_dict()
    if run.error is not None:
        data["error"] = {"type": run.error.type, "message": run.error.message}  # no traceback
    return data


async def start_report(request: Request) -> JSONResponse:
    try:
        body = await request.json()
        kind, rows = str(body["kind"]), int(body.get("rows", 10))
    except (ValueError, KeyError, TypeError):
        return JSONResponse({"error": 'expected {"kind": str, "rows": int}'}, status_code=400)
    if not 1 <= rows <= 10_000:
        return JSONResponse({"error": "rows must be from 1 to 10000"}, status_code=400)
    priority = TaskPriority.HIGH if body.get("urgent") else TaskPriority.NORMAL
    run = build_report.submit(kind, rows, priority=priority, name=f"report {kind}")
    url = request.url_for("report", run_id=run.id).path
    return JSONResponse(
        {"id": run.id, "status": run.status.value, "url": url},
        status_code=202,
        headers={"Location": url},
    )


async def report(request: Request) -> JSONResponse:
    run = scheduler.get_run(request.path_params["run_id"])
    if run is None:
        return JSONResponse({"error": "no such report"}, status_code=404)
    return JSONResponse(describe(run))


async def cancel_report(request: Request) -> JSONResponse:
    run_id = request.path_params["run_id"]
    run = scheduler.get_run(run_id)
    if run is None:
        return JSONResponse({"error": "no such report"}, status_code=404)
    if not scheduler.cancel_run(run_id):
        return JSONResponse({"cancelled": False, "status": run.status.value}, status_code=409)
    return JSONResponse({"cancelled": True, "status": RunStatus.CANCELLED.value})


async def stats(request: Request) -> JSONResponse:
    figures = scheduler.stats()
    body = dataclasses.asdict(figures)
    for name, worker in figures.workers.items():
        body["workers"][name]["idle"] = worker.idle
    return JSONResponse(body)


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    await scheduler.start()
    yield
    await scheduler.shutdown(wait=False)  # running reports are cancelled, not waited for


app = Starlette(
    routes=[
        Route("/reports", start_report, methods=["POST"]),
        Route("/reports/{run_id}", report, methods=["GET"], name="report"),
        Route("/reports/{run_id}", cancel_report, methods=["DELETE"]),
        Route("/stats", stats, methods=["GET"]),
    ],
    lifespan=lifespan,
)
