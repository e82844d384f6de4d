"""The changes (POST, operators only, each with the CSRF token): pause, resume, run now and
remove a task; cancel and retry a run; delete a broken record. Removing and deleting ask for
a confirmation first (a GET page with the form)."""

from __future__ import annotations

import logging

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from asyncz_like.dashboard.context import dashboard_of
from asyncz_like.dashboard.security import allow
from asyncz_like.exceptions import RunLookupError, RunNotRetryableError, TaskLookupError

logger = logging.getLogger(__name__)


def _field(form: FormData, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) and value else None


def _back(request: Request, page: str, flash: str) -> Response:
    """After a change: back to ``page`` (a route name, never a URL from the request)."""
    request.session["flash"] = flash
    return RedirectResponse(request.url_for(page), status_code=303)


def _log(request: Request, action: str, **fields: str | None) -> None:
    logger.info("Dashboard action %s", action, extra={"user": request.state.user.name, **fields})


def _task_change(request: Request, form: FormData, action: str) -> Response:
    dashboard = dashboard_of(request)
    task_id, store = _field(form, "task_id"), _field(form, "store")
    if task_id is None:
        return dashboard.pages.message(request, "task_id is required", 400)
    scheduler = dashboard.scheduler
    change = {
        "pause": scheduler.pause_task,
        "resume": scheduler.resume_task,
        "run": scheduler.run_task,
        "remove": scheduler.delete_task,
    }[action]
    try:
        change(task_id, store)
    except TaskLookupError:
        return dashboard.pages.message(request, f"No task has the id {task_id!r}.", 404)
    _log(request, f"{action}_task", task_id=task_id, store=store)
    done = {"pause": "paused", "resume": "resumed", "run": "started", "remove": "removed"}
    return _back(request, "tasks", f"Task {task_id} {done[action]}.")


@allow("operator")
def pause_task(request: Request, form: FormData) -> Response:
    return _task_change(request, form, "pause")


@allow("operator")
def resume_task(request: Request, form: FormData) -> Response:
    return _task_change(request, form, "resume")


@allow("operator")
def run_task(request: Request, form: FormData) -> Response:
    return _task_change(request, form, "run")


@allow("operator")
def remove_task(request: Request, form: FormData) -> Response:
    return _task_change(request, form, "remove")


@allow("operator")
def confirm_remove_task(request: Request, form: FormData) -> Response:
    params = request.query_params
    context = {
        "what": f"remove the task {params.get('task_id')!r}",
        "action": request.url_for("remove_task"),
        "fields": {"task_id": params.get("task_id", ""), "store": params.get("store", "")},
        "back": request.url_for("tasks"),
    }
    return dashboard_of(request).pages.render(request, "confirm.html", context)


@allow("operator")
def cancel_run(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    run_id = _field(form, "run_id")
    if run_id is None:
        return dashboard.pages.message(request, "run_id is required", 400)
    cancelled = bool(dashboard.scheduler.cancel_run(run_id))
    _log(request, "cancel_run", run_id=run_id)
    text = (
        f"Run {run_id} cancelled." if cancelled else f"Run {run_id} was not cancelled (it ended)."
    )
    return _back(request, "runs", text)


@allow("operator")
def retry_run(request: Request, form: FormData) -> Response:
    """A new run from the call of a run that ended failed, timed out or cancelled
    (``scheduler.retry_run``: needs a broker); the ended run stays as it was."""
    dashboard = dashboard_of(request)
    run_id = _field(form, "run_id")
    if run_id is None:
        return dashboard.pages.message(request, "run_id is required", 400)
    try:
        again = dashboard.scheduler.retry_run(run_id)
    except RunLookupError:
        return dashboard.pages.message(request, f"No run has the id {run_id!r}.", 404)
    except RunNotRetryableError as exc:
        return dashboard.pages.message(request, f"Run {run_id}: {exc.reason}.", 409)
    _log(request, "retry_run", run_id=run_id, retry_id=again.id)
    return _back(request, "runs", f"Run {run_id} retried as {again.id}.")


@allow("operator")
def delete_broken(request: Request, form: FormData) -> Response:
    dashboard = dashboard_of(request)
    task_id, store = _field(form, "task_id"), _field(form, "store")
    if task_id is None or store is None:
        return dashboard.pages.message(request, "task_id and store are required", 400)
    if _field(form, "confirm") != task_id:
        return dashboard.pages.message(request, "Type the record's id to confirm.", 400)
    if task_id not in dashboard.scheduler.get_broken_records(store).get(store, {}):
        return dashboard.pages.message(request, f"No broken record {task_id!r} in {store!r}.", 404)
    dashboard.scheduler.delete_task(task_id, store)
    _log(request, "delete_broken", task_id=task_id, store=store)
    return _back(request, "broken", f"Broken record {task_id} deleted from {store}.")


@allow("operator")
def confirm_delete_broken(request: Request, form: FormData) -> Response:
    params = request.query_params
    context = {
        "what": f"delete the broken record {params.get('task_id')!r} of {params.get('store')!r}",
        "action": request.url_for("delete_broken"),
        "fields": {"task_id": params.get("task_id", ""), "store": params.get("store", "")},
        "typed": params.get("task_id", ""),
        "back": request.url_for("broken"),
    }
    return dashboard_of(request).pages.render(request, "confirm.html", context)
