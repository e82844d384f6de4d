"""Tests for asyncz_like.asgi (imported at its documented path, asyncz_like.contrib.asgi),
driving the ASGI lifespan protocol by hand."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, overload

import pytest

from asyncz_like.contrib.asgi import (
    ASGIApp,
    ASGIApplication,
    Message,
    Receive,
    Scope,
    Send,
    asgi,
)

STARTUP = "lifespan.startup"
SHUTDOWN = "lifespan.shutdown"
STARTUP_COMPLETE = "lifespan.startup.complete"
STARTUP_FAILED = "lifespan.startup.failed"
SHUTDOWN_COMPLETE = "lifespan.shutdown.complete"
SHUTDOWN_FAILED = "lifespan.shutdown.failed"


class FakeScheduler:
    """Records start/shutdown in ``log``; with ``awaitable=True`` both return coroutines."""

    def __init__(
        self,
        log: list[str],
        *,
        awaitable: bool = False,
        start_error: Exception | None = None,
        shutdown_error: Exception | None = None,
    ) -> None:
        self.log = log
        self.awaitable = awaitable
        self.start_error = start_error
        self.shutdown_error = shutdown_error

    def start(self) -> Coroutine[Any, Any, None] | None:
        return self._call("scheduler.start", self.start_error)

    def shutdown(self, wait: bool = True) -> Coroutine[Any, Any, None] | None:
        return self._call(f"scheduler.shutdown(wait={wait})", self.shutdown_error)

    @overload
    def asgi(
        self, app: ASGIApplication, *, handle_lifespan: bool = ..., wait: bool = ...
    ) -> ASGIApp: ...

    @overload
    def asgi(
        self, app: None = ..., *, handle_lifespan: bool = ..., wait: bool = ...
    ) -> Callable[[ASGIApplication], ASGIApp]: ...

    def asgi(
        self,
        app: ASGIApplication | None = None,
        *,
        handle_lifespan: bool = False,
        wait: bool = True,
    ) -> ASGIApp | Callable[[ASGIApplication], ASGIApp]:
        """What the real scheduler method does: delegate to ``asgi``."""
        return asgi(self, app, handle_lifespan=handle_lifespan, wait=wait)

    def _call(self, entry: str, error: Exception | None) -> Coroutine[Any, Any, None] | None:
        if not self.awaitable:
            self._record(entry, error)
            return None

        async def later() -> None:
            await asyncio.sleep(0)
            self._record(entry + " awaited", error)

        return later()

    def _record(self, entry: str, error: Exception | None) -> None:
        self.log.append(entry)
        if error is not None:
            raise error


def lifespan_app(
    log: list[str], *, fail_startup: bool = False, fail_shutdown: bool = False
) -> ASGIApplication:
    """An application with its own startup and shutdown handlers, as Starlette has."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            log.append("app.http")
            return
        assert (await receive())["type"] == STARTUP
        log.append("app.startup")
        if fail_startup:
            await send({"type": STARTUP_FAILED, "message": "database unreachable"})
            return
        await send({"type": STARTUP_COMPLETE})
        assert (await receive())["type"] == SHUTDOWN
        log.append("app.shutdown")
        if fail_shutdown:
            await send({"type": SHUTDOWN_FAILED, "message": "flush failed"})
            return
        await send({"type": SHUTDOWN_COMPLETE})

    return app


@dataclass
class LifespanResult:
    replies: list[Message] = field(default_factory=list)
    error: BaseException | None = None

    @property
    def types(self) -> list[str]:
        return [reply["type"] for reply in self.replies]


async def drive_lifespan(app: ASGIApplication, log: list[str]) -> LifespanResult:
    """Play the server: startup, and shutdown if startup completed; record the replies."""
    result = LifespanResult()
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    replies: asyncio.Queue[Message] = asyncio.Queue()

    async def send(message: Message) -> None:
        log.append("server<-" + message["type"])
        result.replies.append(message)
        await replies.put(message)

    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, inbox.get, send))

    async def next_reply() -> Message | None:
        getter = asyncio.ensure_future(replies.get())
        await asyncio.wait({getter, task}, timeout=1, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        return None

    await inbox.put({"type": STARTUP})
    reply = await next_reply()
    if reply is not None and reply["type"] == STARTUP_COMPLETE:
        await inbox.put({"type": SHUTDOWN})
        await next_reply()
    done, _ = await asyncio.wait({task}, timeout=1)
    assert done, "the lifespan call did not return"
    result.error = task.exception()
    return result


def run(app: ASGIApplication, log: list[str]) -> LifespanResult:
    return asyncio.run(drive_lifespan(app, log))


@pytest.mark.parametrize("awaitable", [False, True], ids=["sync", "async"])
def test_scheduler_starts_after_app_startup_and_stops_before_app_shutdown(
    awaitable: bool,
) -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log, awaitable=awaitable)
    suffix = " awaited" if awaitable else ""

    result = run(ASGIApp(scheduler, lifespan_app(log)), log)

    assert result.error is None
    assert log == [
        "app.startup",
        "scheduler.start" + suffix,
        "server<-" + STARTUP_COMPLETE,
        "scheduler.shutdown(wait=True)" + suffix,
        "app.shutdown",
        "server<-" + SHUTDOWN_COMPLETE,
    ]


def test_wait_is_passed_to_shutdown() -> None:
    log: list[str] = []
    run(ASGIApp(FakeScheduler(log), lifespan_app(log), wait=False), log)
    assert "scheduler.shutdown(wait=False)" in log


def test_app_startup_failure_is_forwarded_and_scheduler_not_started() -> None:
    log: list[str] = []
    result = run(ASGIApp(FakeScheduler(log), lifespan_app(log, fail_startup=True)), log)

    assert log == ["app.startup", "server<-" + STARTUP_FAILED]
    assert result.replies[0]["message"] == "database unreachable"
    assert result.error is None


@pytest.mark.parametrize("awaitable", [False, True], ids=["sync", "async"])
def test_scheduler_start_error_fails_startup_after_app_cleanup(
    awaitable: bool, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log, awaitable=awaitable, start_error=RuntimeError("no store"))

    result = run(ASGIApp(scheduler, lifespan_app(log)), log)

    assert result.error is None
    assert result.types == [STARTUP_FAILED]
    assert result.replies[0]["message"] == "RuntimeError: no store"
    # The app started, so it is told to shut down; its shutdown.complete is not forwarded.
    assert log[-2:] == ["app.shutdown", "server<-" + STARTUP_FAILED]
    assert not any(entry.startswith("scheduler.shutdown") for entry in log)
    assert "failed to start" in caplog.text


def test_scheduler_start_error_is_reported_when_app_exits_without_cleanup() -> None:
    log: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": STARTUP_COMPLETE})

    scheduler = FakeScheduler(log, start_error=RuntimeError("no store"))
    result = run(ASGIApp(scheduler, app), log)

    assert result.types == [STARTUP_FAILED]
    assert result.error is None


def test_scheduler_shutdown_error_is_logged_and_app_still_shuts_down(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log, shutdown_error=RuntimeError("stuck"))

    result = run(ASGIApp(scheduler, lifespan_app(log)), log)

    assert log[-2:] == ["app.shutdown", "server<-" + SHUTDOWN_COMPLETE]
    assert result.error is None
    record = next(r for r in caplog.records if "failed to shut down" in r.getMessage())
    assert record.levelno == logging.ERROR
    assert record.__dict__["error_type"] == "RuntimeError"


def test_app_shutdown_failure_is_forwarded() -> None:
    log: list[str] = []
    result = run(ASGIApp(FakeScheduler(log), lifespan_app(log, fail_shutdown=True)), log)
    assert result.types == [STARTUP_COMPLETE, SHUTDOWN_FAILED]
    assert log.index("scheduler.shutdown(wait=True)") < log.index("app.shutdown")


@pytest.mark.parametrize("awaitable", [False, True], ids=["sync", "async"])
def test_handle_lifespan_answers_the_protocol_itself(awaitable: bool) -> None:
    log: list[str] = []
    seen: list[str] = []

    async def bare_app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["type"])

    scheduler = FakeScheduler(log, awaitable=awaitable)
    result = run(ASGIApp(scheduler, bare_app, handle_lifespan=True), log)

    suffix = " awaited" if awaitable else ""
    assert seen == []
    assert log == [
        "scheduler.start" + suffix,
        "server<-" + STARTUP_COMPLETE,
        "scheduler.shutdown(wait=True)" + suffix,
        "server<-" + SHUTDOWN_COMPLETE,
    ]
    assert result.error is None


def test_handle_lifespan_reports_start_failure() -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log, start_error=ValueError("bad config"))
    result = run(ASGIApp(scheduler, lifespan_app(log), handle_lifespan=True), log)
    assert result.types == [STARTUP_FAILED]
    assert result.replies[0]["message"] == "ValueError: bad config"
    assert "app.startup" not in log


def test_handle_lifespan_reports_shutdown_failure() -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log, shutdown_error=OSError())
    result = run(ASGIApp(scheduler, lifespan_app(log), handle_lifespan=True), log)
    assert result.types == [STARTUP_COMPLETE, SHUTDOWN_FAILED]
    assert result.replies[1]["message"] == "OSError"


@pytest.mark.parametrize("consumes_startup", [False, True])
def test_app_without_lifespan_support_falls_back_to_the_wrapper(
    consumes_startup: bool, caplog: pytest.LogCaptureFixture
) -> None:
    log: list[str] = []

    async def http_only(scope: Scope, receive: Receive, send: Send) -> None:
        if consumes_startup:
            await receive()
        raise AssertionError("only http is supported")

    caplog.set_level(logging.INFO, logger="asyncz_like.asgi")
    result = run(ASGIApp(FakeScheduler(log), http_only), log)

    assert result.error is None
    assert result.types == [STARTUP_COMPLETE, SHUTDOWN_COMPLETE]
    assert log[0] == "scheduler.start"
    assert "does not support the ASGI lifespan protocol" in caplog.text


def test_app_returning_without_answering_falls_back_to_the_wrapper(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []

    async def ignores_lifespan(scope: Scope, receive: Receive, send: Send) -> None:
        return

    caplog.set_level(logging.INFO, logger="asyncz_like.asgi")
    result = run(ASGIApp(FakeScheduler(log), ignores_lifespan), log)
    assert result.types == [STARTUP_COMPLETE, SHUTDOWN_COMPLETE]
    assert "does not support the ASGI lifespan protocol" in caplog.text


def test_app_returning_after_startup_leaves_shutdown_to_the_wrapper() -> None:
    log: list[str] = []

    async def returns_early(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": STARTUP_COMPLETE})

    result = run(ASGIApp(FakeScheduler(log), returns_early), log)
    assert result.types == [STARTUP_COMPLETE, SHUTDOWN_COMPLETE]
    assert log[-2:] == ["scheduler.shutdown(wait=True)", "server<-" + SHUTDOWN_COMPLETE]


def test_app_crash_after_startup_stops_scheduler_and_propagates() -> None:
    log: list[str] = []

    async def crashes(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await send({"type": STARTUP_COMPLETE})
        raise RuntimeError("lifespan task died")

    result = run(ASGIApp(FakeScheduler(log), crashes), log)

    assert isinstance(result.error, RuntimeError)
    assert log == [
        "scheduler.start",
        "server<-" + STARTUP_COMPLETE,
        "scheduler.shutdown(wait=True)",
    ]


def test_other_scopes_pass_straight_through() -> None:
    log: list[str] = []
    calls: list[tuple[Scope, Receive, Send]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        calls.append((scope, receive, send))

    async def receive() -> Message:
        return {"type": "http.request"}

    async def send(message: Message) -> None:
        return None

    wrapped = ASGIApp(FakeScheduler(log), app)
    for scope_type in ("http", "websocket"):
        scope: Scope = {"type": scope_type}
        asyncio.run(wrapped(scope, receive, send))
        assert calls[-1] == (scope, receive, send)
    assert log == []


def test_asgi_helper_wraps_or_decorates() -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log)
    app = lifespan_app(log)

    wrapped = asgi(scheduler, app, wait=False)
    assert isinstance(wrapped, ASGIApp)
    assert (wrapped.app, wrapped.scheduler, wrapped.wait, wrapped.handle_lifespan) == (
        app,
        scheduler,
        False,
        False,
    )
    decorated = asgi(scheduler, handle_lifespan=True)(app)
    assert (decorated.app, decorated.handle_lifespan, decorated.wait) == (app, True, True)
    assert "handle_lifespan=True" in repr(decorated)


def test_scheduler_method_decorator_forms() -> None:
    log: list[str] = []
    scheduler = FakeScheduler(log)

    @scheduler.asgi
    async def plain(scope: Scope, receive: Receive, send: Send) -> None:
        await lifespan_app(log)(scope, receive, send)

    @scheduler.asgi(wait=False)
    async def no_wait(scope: Scope, receive: Receive, send: Send) -> None:
        await lifespan_app(log)(scope, receive, send)

    assert isinstance(plain, ASGIApp)
    assert isinstance(no_wait, ASGIApp)
    assert no_wait.wait is False
    run(no_wait, log)
    assert "scheduler.shutdown(wait=False)" in log


def test_starlette_test_client_runs_the_lifespan_in_order() -> None:
    pytest.importorskip("httpx2")  # starlette.testclient's client (plain httpx is deprecated)
    starlette_apps = pytest.importorskip("starlette.applications")
    from collections.abc import AsyncIterator
    from contextlib import asynccontextmanager

    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    log: list[str] = []

    @asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        log.append("app.startup")
        yield
        log.append("app.shutdown")

    async def home(request: Request) -> PlainTextResponse:
        log.append("request")
        return PlainTextResponse("ok")

    app = starlette_apps.Starlette(routes=[Route("/", home)], lifespan=lifespan)
    wrapped: Callable[..., Awaitable[None]] = asgi(FakeScheduler(log, awaitable=True), app)

    with TestClient(wrapped) as client:
        assert client.get("/").text == "ok"

    assert log == [
        "app.startup",
        "scheduler.start awaited",
        "request",
        "scheduler.shutdown(wait=True) awaited",
        "app.shutdown",
    ]


@pytest.mark.e2e
def test_asyncio_scheduler_running_work_ends_before_app_shutdown() -> None:
    """docs/asgi.md's promise on a real AsyncIOScheduler: the wrapper awaits shutdown_async,
    so a run still going at shutdown ends before the application's shutdown handlers."""
    from asyncz_like.schedulers import AsyncIOScheduler

    log: list[str] = []
    scheduler = AsyncIOScheduler()

    async def slow() -> None:
        log.append("run.started")
        await asyncio.sleep(0.2)
        log.append("run.finished")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        assert (await receive())["type"] == STARTUP
        await send({"type": STARTUP_COMPLETE})
        await asyncio.sleep(0.05)  # the run starts once the scheduler's loop has had a turn
        assert (await receive())["type"] == SHUTDOWN
        log.append("app.shutdown")
        await send({"type": SHUTDOWN_COMPLETE})

    scheduler.submit(slow)
    result = run(ASGIApp(scheduler, app), log)

    assert result.error is None
    assert log.index("run.started") < log.index("run.finished") < log.index("app.shutdown")
