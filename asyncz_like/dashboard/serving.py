"""``serve``: run the dashboard of a scheduler with uvicorn until interrupted."""

from __future__ import annotations

import os

from asyncz_like.exceptions import MissingDependencyError
from asyncz_like.schedulers.base import BaseScheduler

USERS_FILE_VARIABLE = "ASYNCZ_LIKE_DASHBOARD_USERS"


def serve(
    scheduler: BaseScheduler,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    users_file: str | None = None,
) -> None:
    """Serve the dashboard of ``scheduler`` on ``host:port`` (blocking). The scheduler runs
    while the server does (``scheduler.asgi``: one more user of a scheduler started already).

    ``users_file`` (default ``$ASYNCZ_LIKE_DASHBOARD_USERS``) is required: without users
    the dashboard refuses to start.
    """
    from asyncz_like.dashboard import create_dashboard

    try:
        import uvicorn
    except ImportError as error:
        raise MissingDependencyError("uvicorn", "dashboard") from error
    path = users_file or os.environ.get(USERS_FILE_VARIABLE)
    if not path:
        raise ValueError(
            "users_file is required: the dashboard refuses to start without credentials "
            f"(or set {USERS_FILE_VARIABLE})"
        )
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f"port must be an int from 0 to 65535, got port={port!r}")
    app = scheduler.asgi(create_dashboard(scheduler, path))
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
