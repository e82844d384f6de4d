"""A web process that only submits; worker processes run the work. Both share one broker.

From the repository root, in two terminals::

    asyncz-like worker --broker sqlite:///web_worker.db --queues images \\
        --import examples.web_worker.tasks
    BROKER=sqlite:///web_worker.db uvicorn examples.web_worker.app:app

then ``curl -X POST localhost:8000/thumbnails -d '{"photo": "cat.jpg"}'`` and follow the
``url`` it returns. Any broker URL works (``postgresql+psycopg://...``, ``redis://...``);
the worker and the web process must name the same one.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from asyncz_like.runs import Run
from asyncz_like.schedulers import AsyncIOScheduler
from examples.web_worker import tasks


def describe(run: Run) -> dict[str, Any]:
    data = run.to_dict()
    if run.error is not None:
        data["error"] = {"type": run.error.type, "message": run.error.message}  # no traceback
    return data


def create_app(broker: Any) -> Any:
    """The web app over ``broker`` (a URL, a ``{"type": ...}`` config or an instance)."""
    # worker=False: this process enqueues and reads; the worker processes run the work
    scheduler = AsyncIOScheduler(broker=broker, worker=False)

    async def submit_thumbnail(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            photo, size, steps = (
                str(body["photo"]),
                int(body.get("size", 128)),
                int(body.get("steps", 5)),
            )
        except (ValueError, KeyError, TypeError):
            return JSONResponse(
                {"error": 'expected {"photo": str, "size": int, "steps": int}'}, 400
            )
        # the broker call is I/O: off the event loop
        run = await asyncio.to_thread(
            scheduler.submit, tasks.make_thumbnail, photo, size, steps, queue="images",
            max_retries=2,
        )  # fmt: skip
        url = request.url_for("run", run_id=run.id).path
        return JSONResponse({"id": run.id, "status": run.status.value, "url": url}, 202,
                            headers={"Location": url})  # fmt: skip

    async def show_run(request: Request) -> JSONResponse:
        run = await asyncio.to_thread(scheduler.get_run, request.path_params["run_id"])
        if run is None:
            return JSONResponse({"error": "no such run"}, 404)
        return JSONResponse(describe(run))

    async def cancel_run(request: Request) -> JSONResponse:
        cancelled = await asyncio.to_thread(scheduler.cancel_run, request.path_params["run_id"])
        return JSONResponse({"cancelled": bool(cancelled)})

    app = Starlette(
        routes=[
            Route("/thumbnails", submit_thumbnail, methods=["POST"]),
            Route("/runs/{run_id}", show_run, methods=["GET"], name="run"),
            Route("/runs/{run_id}", cancel_run, methods=["DELETE"]),
        ]
    )
    # the scheduler starts after the app's startup and stops before its shutdown
    return scheduler.asgi(app)


app = create_app(os.environ.get("BROKER", "sqlite:///web_worker.db"))
