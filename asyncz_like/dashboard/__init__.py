"""The web dashboard: see and steer a scheduler from a browser (extra ``dashboard``).

``create_dashboard(scheduler, users=...)`` gives a Starlette app to mount; ``serve(...)``
runs one; :func:`asyncz_like.dashboard.auth.user_line` makes a line of a users file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from asyncz_like.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from asyncz_like.dashboard.app import create_dashboard
    from asyncz_like.dashboard.serving import serve

__all__ = ["create_dashboard", "serve"]


def __getattr__(name: str) -> Any:
    """Imports the web libraries on first use, naming the extra when one is missing."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        if name == "serve":
            from asyncz_like.dashboard import serving

            return serving.serve
        from asyncz_like.dashboard import app
    except ImportError as error:
        if isinstance(error, MissingDependencyError):
            raise
        raise MissingDependencyError(error.name or "starlette", "dashboard") from error
    return app.create_dashboard
