"""What the dashboard's endpoints share: the scheduler, the users, the figures, the pages."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from asyncz_like.dashboard.auth import Users
from asyncz_like.dashboard.metrics import MetricsCollector
from asyncz_like.dashboard.rendering import Pages
from asyncz_like.dashboard.throttle import LoginThrottle
from asyncz_like.schedulers.base import BaseScheduler


@dataclass(slots=True)
class Dashboard:
    """Kept in ``app.state.dashboard``."""

    scheduler: BaseScheduler
    users: Users
    throttle: LoginThrottle
    collector: MetricsCollector
    pages: Pages


def dashboard_of(request: Request) -> Dashboard:
    """The dashboard a request came to."""
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard
