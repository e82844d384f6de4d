"""``create_dashboard``: the dashboard as a Starlette app to mount in any ASGI app."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from asyncz_like.dashboard import actions, sessions, views
from asyncz_like.dashboard.auth import Users
from asyncz_like.dashboard.context import Dashboard
from asyncz_like.dashboard.metrics import MetricsCollector
from asyncz_like.dashboard.rendering import Pages
from asyncz_like.dashboard.security import SecurityHeaders
from asyncz_like.dashboard.throttle import LoginThrottle
from asyncz_like.schedulers.base import BaseScheduler

STATIC = Path(__file__).parent / "static"
#: Routes anybody may call: the login form and the static files.
PUBLIC_ROUTES = frozenset({"login", "static"})
SESSION_COOKIE = "asyncz_like_dashboard"
SESSION_SECONDS = 8 * 3600
MIN_SECRET_LENGTH = 32


def routes() -> list[BaseRoute]:
    post = ["POST"]
    return [
        Route("/", views.overview, name="overview"),
        Route("/tasks", views.tasks, name="tasks"),
        Route("/tasks/pause", actions.pause_task, methods=post, name="pause_task"),
        Route("/tasks/resume", actions.resume_task, methods=post, name="resume_task"),
        Route("/tasks/run", actions.run_task, methods=post, name="run_task"),
        Route("/tasks/remove", actions.confirm_remove_task, name="confirm_remove_task"),
        Route("/tasks/remove", actions.remove_task, methods=post, name="remove_task"),
        Route("/runs", views.runs, name="runs"),
        Route("/runs/cancel", actions.cancel_run, methods=post, name="cancel_run"),
        Route("/runs/retry", actions.retry_run, methods=post, name="retry_run"),
        Route("/runs/{run_id:path}", views.run_detail, name="run"),
        Route("/queues", views.queues, name="queues"),
        Route("/broken", views.broken, name="broken"),
        Route("/broken/delete", actions.confirm_delete_broken, name="confirm_delete_broken"),
        Route("/broken/delete", actions.delete_broken, methods=post, name="delete_broken"),
        Route("/login", sessions.login, methods=["GET", "POST"], name="login"),
        Route("/logout", sessions.logout, methods=post, name="logout"),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


def _secret(secret_key: str | None) -> str:
    secret = secret_key or os.environ.get("ASYNCZ_LIKE_DASHBOARD_SECRET")
    if secret is None:  # sessions end when the process does
        return secrets.token_urlsafe(48)
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"secret_key must be at least {MIN_SECRET_LENGTH} characters")
    return secret


def create_dashboard(
    scheduler: BaseScheduler,
    users: Users | str | os.PathLike[str] | Any = None,
    *,
    secret_key: str | None = None,
    https_only: bool = False,
    throttle: LoginThrottle | None = None,
) -> Starlette:
    """The dashboard of ``scheduler`` as a Starlette app (mount it, or serve it).

    ``users``: a users file path, ``name:role:hash`` lines (see
    :func:`~asyncz_like.dashboard.auth.user_line`) or :class:`~asyncz_like.dashboard.auth.Users`;
    required, the dashboard refuses to start without credentials. ``secret_key`` signs the
    session cookies (default: ``$ASYNCZ_LIKE_DASHBOARD_SECRET``, else a random key, so that
    sessions end with the process); give the same one to every process behind one address.
    ``https_only`` marks the cookie Secure and sends HSTS: set it behind HTTPS.
    """
    if not isinstance(scheduler, BaseScheduler):
        raise TypeError(f"scheduler must be a scheduler, got scheduler={scheduler!r}")
    collector = MetricsCollector(scheduler.clock.now)
    dashboard = Dashboard(
        scheduler, Users.coerce(users), throttle or LoginThrottle(), collector, Pages()
    )
    middleware = [
        Middleware(SecurityHeaders, https=https_only),
        Middleware(
            SessionMiddleware,
            secret_key=_secret(secret_key),
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_SECONDS,
            same_site="strict",
            https_only=https_only,
        ),
    ]
    app = Starlette(routes=routes(), middleware=middleware)
    app.state.dashboard = dashboard
    collector.install(scheduler)
    return app
