"""Logging in (public, rate-limited) and out."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from asyncz_like.dashboard.context import Dashboard
from asyncz_like.dashboard.security import allow, csrf_ok

logger = logging.getLogger(__name__)


async def login(request: Request) -> Response:
    """GET: the form. POST: check the CSRF token, the throttle, then the password."""
    dashboard: Dashboard = request.app.state.dashboard
    pages = dashboard.pages
    if request.method == "GET":
        return pages.login(request)
    if not await csrf_ok(request):
        return pages.refused(request, "a missing CSRF token (reload the page)")
    form = await request.form()
    name, password = str(form.get("username", "")), str(form.get("password", ""))
    client = request.client.host if request.client else "unknown"
    keys = (f"ip:{client}", f"user:{name}")
    wait = dashboard.throttle.retry_after(*keys)
    if wait > 0:
        response = pages.login(request, 429, "Too many failed attempts: try again later.")
        response.headers["retry-after"] = str(int(wait) + 1)
        return response
    user = dashboard.users.verify(name, password)
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
async def logout(request: Request) -> Response:
    request.session.clear()
    return RedirectResponse(request.url_for("login"), status_code=303)
