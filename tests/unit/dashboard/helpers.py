"""A dashboard on a hand-driven scheduler, and a client that logs in as a browser does."""

from __future__ import annotations

import re
from functools import cache

from httpx2 import Response
from starlette.applications import Starlette
from starlette.testclient import TestClient

from asyncz_like.dashboard.auth import Users, user_line

PASSWORD = "correct horse battery"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@cache
def users() -> Users:
    """An operator ``olga`` and a viewer ``vera`` (hashed once: argon2 is slow on purpose)."""
    return Users([user_line("olga", "operator", PASSWORD), user_line("vera", "viewer", PASSWORD)])


def token(client: TestClient, path: str = "/login") -> str:
    """The CSRF token of the client's session, read from a page's form."""
    found = _TOKEN.search(client.get(path).text)
    assert found is not None, "no CSRF token on the page"
    return found.group(1)


def logged_in(app: Starlette, name: str) -> TestClient:
    client = TestClient(app, follow_redirects=False)
    response = client.post(
        "/login", data={"csrf_token": token(client), "username": name, "password": PASSWORD}
    )
    assert response.status_code == 303, response.text
    return client


def post(client: TestClient, path: str, **fields: str) -> Response:
    """A change posted with the session's CSRF token, as the page's forms do."""
    return client.post(path, data={"csrf_token": token(client, "/tasks"), **fields})
