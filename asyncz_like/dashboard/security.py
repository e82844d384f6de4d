"""Security headers on every response, CSRF tokens, and who may call each endpoint."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from asyncz_like.dashboard.auth import User

Endpoint = Callable[[Request, FormData], Response]
AsyncEndpoint = Callable[[Request], Awaitable[Response]]

#: Sent with every response. Scripts and styles come only from the dashboard's own files.
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    "cross-origin-opener-policy": "same-origin",
    "cache-control": "no-store",
}
CSRF_FIELD = "csrf_token"
#: Methods that change nothing, so need no CSRF token.
SAFE_METHODS = frozenset({"GET", "HEAD"})


class SecurityHeaders:
    """ASGI middleware: adds :data:`SECURITY_HEADERS` to every HTTP response."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.headers = [(k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]
        if https:
            self.headers.append((b"strict-transport-security", b"max-age=31536000"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [item for item in self.headers if item[0] not in names]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_matches(session: MutableMapping[str, Any], form: FormData) -> bool:
    """Whether ``form`` carries the session's CSRF token."""
    expected, given = session.get("csrf"), form.get(CSRF_FIELD)
    return (
        isinstance(expected, str)
        and isinstance(given, str)
        and secrets.compare_digest(expected, given)
    )


def current_user(request: Request) -> User | None:
    """The logged-in user, looked up again in the users (a removed user is logged out)."""
    user: User | None = request.app.state.dashboard.users.get(request.session.get("user"))
    return user


def allow(role: str) -> Callable[[Endpoint], AsyncEndpoint]:
    """Let only users with ``role`` (or stronger) call the endpoint: 401 for nobody logged
    in, 403 for a weaker role or a change (not GET or HEAD) without the CSRF token.

    The endpoint is a plain function of the request and its form, run in a worker thread:
    the scheduler's methods may do a store's or a broker's I/O, never on the event loop.
    """

    def decorate(endpoint: Endpoint) -> AsyncEndpoint:
        async def guarded(request: Request) -> Response:
            user = current_user(request)
            pages = request.app.state.dashboard.pages
            form = await request.form()
            response: Response
            if user is None:
                response = pages.login(request, status_code=401)
            elif not user.may(role):
                response = pages.refused(request, "your role")
            elif request.method not in SAFE_METHODS and not csrf_matches(request.session, form):
                response = pages.refused(request, "a missing CSRF token")
            else:
                request.state.user = user
                response = await run_in_threadpool(endpoint, request, form)
            return response

        guarded.__name__, guarded.__doc__ = endpoint.__name__, endpoint.__doc__
        guarded.required_role = role  # type: ignore[attr-defined]  # read by the route tests
        return guarded

    return decorate
