"""Every route of the app: 401 without a login, 403 for a role too weak or a change without
the CSRF token. The routes are read from the app, so that a new one cannot be missed."""

from __future__ import annotations

import re

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from asyncz_like.dashboard import create_dashboard
from asyncz_like.dashboard.app import PUBLIC_ROUTES, SESSION_COOKIE
from asyncz_like.dashboard.auth import Users, user_line
from asyncz_like.dashboard.security import SECURITY_HEADERS
from asyncz_like.dashboard.throttle import LoginThrottle
from tests.helpers import ManualScheduler
from tests.unit.dashboard.helpers import PASSWORD, logged_in, token, users


def guarded_routes(app: Starlette) -> list[tuple[str, str, str]]:
    """(method, path, role) of every route but the public ones; fails on an unguarded one."""
    found = []
    for route in app.routes:
        if route.name in PUBLIC_ROUTES:  # type: ignore[attr-defined]
            continue
        assert isinstance(route, Route), f"{route!r}: only guarded Routes may be added"
        role = getattr(route.endpoint, "required_role", None)
        assert role in ("viewer", "operator"), f"{route.path} is not guarded by allow()"
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        found.extend((method, path, role) for method in sorted(route.methods or ()))
    return found


def test_the_route_list_covers_pages_and_changes(app: Starlette) -> None:
    routes = guarded_routes(app)
    assert len(routes) >= 16
    assert {method for method, _, _ in routes} == {"GET", "HEAD", "POST"}
    changes = {path: role for method, path, role in routes if method == "POST"}
    assert changes.pop("/logout") == "viewer"  # anybody logged in may log out
    assert set(changes.values()) == {"operator"}


def test_nobody_logged_in_gets_401_everywhere(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)
    csrf = token(client)
    for method, path, _ in guarded_routes(app):
        response = client.request(
            method, path, data={"csrf_token": csrf} if method == "POST" else None
        )
        assert response.status_code == 401, (method, path)
        if method != "HEAD":
            assert 'name="password"' in response.text  # the login form, in place


def test_a_viewer_gets_403_for_every_operator_route(app: Starlette) -> None:
    client = logged_in(app, "vera")
    csrf = token(client, "/")
    for method, path, role in guarded_routes(app):
        response = client.request(
            method, path, data={"csrf_token": csrf} if method == "POST" else None
        )
        if role == "operator":
            assert response.status_code == 403, (method, path)
        else:
            assert response.status_code not in (401, 403), (method, path)


def test_an_operator_without_the_csrf_token_gets_403_for_every_change(app: Starlette) -> None:
    client = logged_in(app, "olga")
    for method, path, _ in guarded_routes(app):
        if method == "POST":
            response = client.post(
                path, data={"csrf_token": "forged", "task_id": "x", "run_id": "x"}
            )
            assert response.status_code == 403, path
            assert client.post(path, data={"task_id": "x"}).status_code == 403, path


def test_login_needs_the_csrf_token(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)
    response = client.post("/login", data={"username": "olga", "password": PASSWORD})
    assert response.status_code == 403


def test_security_headers_on_every_response(app: Starlette) -> None:
    client = TestClient(app, follow_redirects=False)
    for path in ("/", "/login", "/static/dashboard.css", "/no-such-page"):
        response = client.get(path)
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, (path, name)
    assert "frame-ancestors 'none'" in SECURITY_HEADERS["content-security-policy"]


def test_the_session_cookie_is_signed_http_only_and_same_site(app: Starlette) -> None:
    cookie = logged_in(app, "olga").cookies[SESSION_COOKIE]
    for forged in (cookie[:-4] + ("AAAA" if not cookie.endswith("AAAA") else "BBBB"), "x" + cookie):
        client = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: forged})
        assert client.get("/").status_code == 401
    client = TestClient(app, follow_redirects=False, cookies={SESSION_COOKIE: cookie})
    assert client.get("/").status_code == 200
    fresh = TestClient(app, follow_redirects=False)
    response = fresh.post(
        "/login", data={"csrf_token": token(fresh), "username": "olga", "password": PASSWORD}
    )
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header and "samesite=strict" in header and "secure" not in header


def test_https_only_marks_the_cookie_secure_and_sends_hsts(scheduler: ManualScheduler) -> None:
    app = create_dashboard(scheduler, users(), secret_key="s" * 32, https_only=True)
    client = TestClient(app, base_url="https://testserver", follow_redirects=False)
    response = client.get("/login")
    assert "secure" in response.headers["set-cookie"].lower()
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_login_attempts_are_rate_limited(scheduler: ManualScheduler) -> None:
    app = create_dashboard(
        scheduler, users(), secret_key="s" * 32, throttle=LoginThrottle(max_failures=3)
    )
    client = TestClient(app, follow_redirects=False)
    for _ in range(3):
        data = {"csrf_token": token(client), "username": "olga", "password": "wrong password"}
        assert client.post("/login", data=data).status_code == 401
    data = {"csrf_token": token(client), "username": "olga", "password": PASSWORD}
    refused = client.post("/login", data=data)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in refused.cookies


def test_a_user_removed_from_the_users_is_logged_out(scheduler: ManualScheduler) -> None:
    people = Users([user_line("ann", "operator", PASSWORD)])
    app = create_dashboard(scheduler, people, secret_key="s" * 32)
    client = TestClient(app, follow_redirects=False)
    data = {"csrf_token": token(client), "username": "ann", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 303
    assert client.get("/").status_code == 200
    app.state.dashboard.users = users()  # ann is no longer a user
    assert client.get("/").status_code == 401


def test_logout_ends_the_session(app: Starlette) -> None:
    client = logged_in(app, "vera")
    response = client.post("/logout", data={"csrf_token": token(client, "/")})
    assert response.status_code == 303
    assert client.get("/").status_code == 401


@pytest.mark.parametrize("name", ["olga", "vera"])
def test_static_files_and_pages_load_for_both_roles(app: Starlette, name: str) -> None:
    client = logged_in(app, name)
    for path in ("/", "/tasks", "/runs", "/queues", "/broken", "/static/dashboard.js"):
        assert client.get(path).status_code == 200, path


def test_mounted_under_a_prefix_links_stay_inside(app: Starlette) -> None:
    outer = Starlette(routes=[Mount("/ops", app=app)])
    client = TestClient(outer, follow_redirects=False)
    page = client.get("/ops/login")
    assert 'action="http://testserver/ops/login"' in page.text
    assert "/ops/static/dashboard.css" in page.text
    data = {"csrf_token": token(client, "/ops/login"), "username": "olga", "password": PASSWORD}
    response = client.post("/ops/login", data=data)
    assert response.headers["location"] == "http://testserver/ops/"
