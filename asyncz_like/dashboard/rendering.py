"""Renders the pages from the Jinja2 templates, with what every page shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from asyncz_like.dashboard.security import CSRF_FIELD, csrf_token, current_user

TEMPLATES = Path(__file__).parent / "templates"
#: How often a live page refreshes its live part.
LIVE_EVERY_MS = 1000
#: The pages in the navigation bar: (route name, title).
NAVIGATION = (
    ("overview", "Overview"),
    ("tasks", "Tasks"),
    ("runs", "Runs"),
    ("queues", "Queues and workers"),
    ("broken", "Broken records"),
)


def when(value: datetime | None) -> str:
    """A time as ``2026-12-07 08:00:00 UTC``, or ``-``."""
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M:%S %Z}".rstrip()


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def share(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


class Pages:
    """Renders templates; each page gets the user, the CSRF token and the navigation."""

    def __init__(self) -> None:
        self.templates = Jinja2Templates(directory=str(TEMPLATES))
        self.templates.env.filters.update(when=when, seconds=seconds, share=share)

    def render(
        self,
        request: Request,
        name: str,
        context: dict[str, Any] | None = None,
        status_code: int = 200,
        live: bool = False,
    ) -> Response:
        """The page ``name``; ``?fragment=1`` renders only its live part, which a ``live``
        page's script fetches every :data:`LIVE_EVERY_MS`."""
        fragment = request.query_params.get("fragment") == "1"
        values = {
            "user": current_user(request),
            "flash": None if fragment else request.session.pop("flash", None),
            "csrf_field": CSRF_FIELD,
            "csrf": csrf_token(request.session),
            "navigation": NAVIGATION,
            "fragment": fragment,
            "live_every": LIVE_EVERY_MS if live else None,
            **(context or {}),
        }
        return self.templates.TemplateResponse(request, name, values, status_code=status_code)

    def login(self, request: Request, status_code: int = 200, error: str | None = None) -> Response:
        """The login form (401 where a page needs a login)."""
        response = self.render(request, "login.html", {"error": error}, status_code)
        if status_code == 401:
            response.headers["www-authenticate"] = 'FormLogin realm="asyncz_like dashboard"'
        return response

    def refused(self, request: Request, why: str) -> Response:
        return self.render(request, "refused.html", {"why": why}, 403)

    def message(self, request: Request, text: str, status_code: int) -> Response:
        return self.render(request, "message.html", {"text": text}, status_code)
