"""Run a scheduler for as long as an ASGI application is served.

:class:`ASGIApp` wraps an ASGI 3 application. Every scope but ``lifespan`` goes straight to the
application. On the lifespan scope the scheduler is started once the application has completed
its own startup, and shut down before the application hears of the server's shutdown, so tasks
run only while the application's resources exist::

    app startup handlers -> scheduler.start() -> lifespan.startup.complete to the server
    lifespan.shutdown from the server -> scheduler.shutdown(wait) -> app shutdown handlers

``scheduler.asgi(app)`` delegates to :func:`asgi`. This module does not import the scheduler:
anything with ``start()`` and ``shutdown(wait=...)`` will do, and when these return awaitables
(as on ``NativeAsyncIOScheduler``) they are awaited.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol, overload

__all__ = [
    "ASGIApp",
    "ASGIApplication",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "SupportsStartShutdown",
    "asgi",
]

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApplication = Callable[[Scope, Receive, Send], Awaitable[None]]

_SHUTDOWN_REPLIES = frozenset({"lifespan.shutdown.complete", "lifespan.shutdown.failed"})


class SupportsStartShutdown(Protocol):
    """The part of a scheduler the wrapper uses; either method may return an awaitable."""

    def start(self) -> object: ...

    def shutdown(self, wait: bool = True) -> object: ...


class ASGIApp:
    """An ASGI 3 application that ties ``scheduler`` to the lifespan of ``app``.

    ``handle_lifespan=False`` (the default) is for applications that speak the lifespan
    protocol themselves (Starlette, FastAPI, Quart, ...): the wrapper sits between server and
    application and starts and stops the scheduler at the points described in the module
    docstring. ``handle_lifespan=True`` is for applications that do not: the wrapper answers
    the lifespan protocol itself and never passes the lifespan scope on. ``wait`` is passed to
    ``scheduler.shutdown``: ``True`` lets running tasks finish, ``False`` cancels them.
    """

    def __init__(
        self,
        scheduler: SupportsStartShutdown,
        app: ASGIApplication,
        *,
        handle_lifespan: bool = False,
        wait: bool = True,
    ) -> None:
        self.scheduler = scheduler
        self.app = app
        self.handle_lifespan = handle_lifespan
        self.wait = wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection or the lifespan of the application."""
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        session = _LifespanSession(self.scheduler, self.wait, receive, send)
        if not self.handle_lifespan:
            await session.run_app(self.app, scope)
        await session.serve()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(scheduler={self.scheduler!r}, app={self.app!r}, "
            f"handle_lifespan={self.handle_lifespan!r}, wait={self.wait!r})"
        )


@overload
def asgi(
    scheduler: SupportsStartShutdown,
    app: ASGIApplication,
    *,
    handle_lifespan: bool = ...,
    wait: bool = ...,
) -> ASGIApp: ...


@overload
def asgi(
    scheduler: SupportsStartShutdown,
    app: None = ...,
    *,
    handle_lifespan: bool = ...,
    wait: bool = ...,
) -> Callable[[ASGIApplication], ASGIApp]: ...


def asgi(
    scheduler: SupportsStartShutdown,
    app: ASGIApplication | None = None,
    *,
    handle_lifespan: bool = False,
    wait: bool = True,
) -> ASGIApp | Callable[[ASGIApplication], ASGIApp]:
    """Wrap ``app`` in an :class:`ASGIApp`, or, without ``app``, return a decorator that does.

    This is the whole of ``scheduler.asgi(app=None, handle_lifespan=False, wait=True)``, so
    ``app = scheduler.asgi(app)``, ``@scheduler.asgi`` and ``@scheduler.asgi(wait=False)``
    all work.
    """

    def wrap(application: ASGIApplication) -> ASGIApp:
        return ASGIApp(scheduler, application, handle_lifespan=handle_lifespan, wait=wait)

    return wrap if app is None else wrap(app)


class _Phase(enum.Enum):
    """Where the server-facing lifespan conversation stands."""

    AWAITING_STARTUP = "awaiting startup"  # nothing received from the server yet
    STARTING = "starting"  # lifespan.startup received, not yet answered
    RUNNING = "running"  # lifespan.startup.complete sent
    STOPPING = "stopping"  # lifespan.shutdown received, not yet answered
    DONE = "done"  # startup.failed or shutdown.complete/failed sent


class _LifespanSession:
    """One lifespan scope: the server's side of the protocol and the scheduler's state.

    :meth:`run_app` lets the application speak the protocol through intercepting ``receive``
    and ``send`` callables; :meth:`serve` then answers whatever the application left
    unanswered (all of it with ``handle_lifespan=True``).
    """

    def __init__(
        self, scheduler: SupportsStartShutdown, wait: bool, receive: Receive, send: Send
    ) -> None:
        self.scheduler = scheduler
        self.wait = wait
        self.server_receive = receive
        self.server_send = send
        self.phase = _Phase.AWAITING_STARTUP
        self.scheduler_running = False
        self.start_error: str | None = None  # set when the scheduler failed to start
        self.app_shutdown_sent = False  # the app was told to clean up after start_error
        self.app_has_sent = False

    # -- the application's side ------------------------------------------------------------

    async def run_app(self, app: ASGIApplication, scope: Scope) -> None:
        """Run ``app`` on the lifespan scope, starting and stopping the scheduler around it.

        An application that raises before sending any lifespan message, or returns without
        sending one, does not support the lifespan protocol. The ASGI spec then has the server
        go on without lifespan events, which would leave the scheduler unstarted, so the
        wrapper logs that and answers the protocol itself (:meth:`serve`), as with
        ``handle_lifespan=True``.
        """
        try:
            await app(scope, self.app_receive, self.app_send)
        except Exception as exc:
            if self.app_has_sent:
                await self._settle_after_app_error()
                raise
            self._log_no_lifespan_support(type(exc).__name__, str(exc))
            return
        if not self.app_has_sent:
            self._log_no_lifespan_support(None, "returned without answering")

    def _log_no_lifespan_support(self, error_type: str | None, error: str) -> None:
        logger.info(
            "The application does not support the ASGI lifespan protocol; "
            "the scheduler wrapper handles lifespan itself",
            extra={"error_type": error_type, "error": error},
        )

    async def app_receive(self) -> Message:
        """``receive`` as the application sees it."""
        if self.start_error is not None and not self.app_shutdown_sent:
            # The scheduler did not start: let the app run its shutdown handlers before the
            # server hears that startup failed.
            self.app_shutdown_sent = True
            return {"type": "lifespan.shutdown"}
        message = await self._receive_from_server()
        if message["type"] == "lifespan.shutdown":
            await self._stop_scheduler()  # errors are logged; the app still shuts down
        return message

    async def app_send(self, message: Message) -> None:
        """``send`` as the application sees it."""
        self.app_has_sent = True
        kind = message["type"]
        if kind == "lifespan.startup.complete" and self.phase is _Phase.STARTING:
            self.start_error = await self._start_scheduler()
            if self.start_error is not None:
                return  # held back: reported as startup.failed once the app has cleaned up
        elif kind in _SHUTDOWN_REPLIES and self.start_error is not None:
            await self._report_start_failure()
            return
        await self._send_to_server(message)

    async def _settle_after_app_error(self) -> None:
        """After the app raised mid-protocol: stop the scheduler, report a held-back failure."""
        if self.phase is _Phase.STARTING and self.start_error is not None:
            await self._report_start_failure()
        if self.scheduler_running:
            logger.error("The application's lifespan failed; shutting the scheduler down")
            await self._stop_scheduler()

    # -- the wrapper answering the protocol itself -----------------------------------------

    async def serve(self) -> None:
        """Answer the server's lifespan messages from the current phase until done."""
        while self.phase is not _Phase.DONE:
            if self.phase is _Phase.STARTING:
                await self._answer("startup", self.start_error or await self._start_scheduler())
            elif self.phase is _Phase.STOPPING:
                await self._answer("shutdown", await self._stop_scheduler())
            else:
                await self._receive_from_server()

    async def _answer(self, stage: str, error: str | None) -> None:
        """Send ``lifespan.<stage>.complete``, or ``.failed`` with ``error``."""
        if error is None:
            await self._send_to_server({"type": f"lifespan.{stage}.complete"})
        else:
            await self._send_to_server({"type": f"lifespan.{stage}.failed", "message": error})

    # -- the server's side -----------------------------------------------------------------

    async def _receive_from_server(self) -> Message:
        message = await self.server_receive()
        kind = message["type"]
        if kind == "lifespan.startup" and self.phase is _Phase.AWAITING_STARTUP:
            self.phase = _Phase.STARTING
        elif kind == "lifespan.shutdown" and self.phase is not _Phase.DONE:
            self.phase = _Phase.STOPPING
        return message

    async def _send_to_server(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self.phase = _Phase.RUNNING
        elif kind == "lifespan.startup.failed" or kind in _SHUTDOWN_REPLIES:
            self.phase = _Phase.DONE
        await self.server_send(message)

    async def _report_start_failure(self) -> None:
        message = self.start_error or "the scheduler failed to start"
        await self._send_to_server({"type": "lifespan.startup.failed", "message": message})

    # -- the scheduler ---------------------------------------------------------------------

    async def _start_scheduler(self) -> str | None:
        """Start the scheduler; return the error message if that failed (already logged)."""
        if self.scheduler_running:
            return None
        try:
            await _resolve(self.scheduler.start())
        except Exception as exc:
            logger.exception(
                "The scheduler failed to start with the application",
                extra={"error_type": type(exc).__name__},
            )
            return _describe(exc)
        self.scheduler_running = True
        logger.debug("Scheduler started with the application")
        return None

    async def _stop_scheduler(self) -> str | None:
        """Shut the scheduler down if this session started it; return the error message."""
        if not self.scheduler_running:
            return None
        self.scheduler_running = False
        try:
            shutdown_async = getattr(self.scheduler, "shutdown_async", None)
            if shutdown_async is not None:  # awaits running work and async shutdown tasks
                await shutdown_async(wait=self.wait)
            else:
                await _resolve(self.scheduler.shutdown(wait=self.wait))
        except Exception as exc:
            logger.exception(
                "The scheduler failed to shut down with the application",
                extra={"error_type": type(exc).__name__, "wait": self.wait},
            )
            return _describe(exc)
        logger.debug("Scheduler shut down with the application", extra={"wait": self.wait})
        return None


async def _resolve(result: object) -> None:
    """Await ``result`` if the scheduler method returned an awaitable."""
    if inspect.isawaitable(result):
        await result


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
