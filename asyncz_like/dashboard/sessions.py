"""Logging in (public, rate-limited) and out."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from asyncz_like.dashboard.context import Dashboard
from asyncz_like.dashboard.security import allow, csrf_matches

logger = logging.getLogger(__name__)


async def login(request: Request) -> Response:
    """GET: the form. POST: check the CSRF token, the throttle, then the password (argon2
    takes tens of milliseconds on purpose: in a worker thread, not on the event loop)."""
    dashboard: Dashboard = request.app.state.dashboard
    pages = dashboard.pages
    if request.method == "GET":
        return pages.login(request)
    form = await request.form()
    if not csrf_matches(request.session, form):
        return pages.refused(request, "a missing CSRF token (reload the page)")
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    client = request.client.host if request.client else "unknown"
    keys = (f"ip:{client}", f"user:{name}")
    wait = dashboard.throttle.retry_after(*keys)
    if wait > 0:
        response = pages.login(request, 429, "Too many failed attempts: try again later.")
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    user = await run_in_threadpool(dashboard.users.verify, name, password)
    if user is None:
        dashboard.throttle.failed(*keys)
        logger.warning("Dashboard login failed", extra={"user": name, "client": client})
        return pages.login(request, 401, "Wrong name or password.")
    dashboard.throttle.succeeded(*keys)
    request.session.clear()  # a new session: nothing chosen before the login carries over
    request.session["user"] = user.name
    logger.info("Dashboard login", extra={"user": user.name, "client": client})
    return RedirectResponse(request.url_for("overview"), status_code=303)


@allow("viewer")
def logout(request: Request, form: FormData) -> Response:
    request.session.clear()
    return RedirectResponse(request.url_for("login"), status_code=303)
