"""The ASGI lifespan wrapper, at its documented path; it lives in :mod:`asyncz_like.asgi`,
below the schedulers that offer it as ``scheduler.asgi(app)``."""

from asyncz_like.asgi import (
    ASGIApp,
    ASGIApplication,
    Message,
    Receive,
    Scope,
    Send,
    SupportsStartShutdown,
    asgi,
)

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
