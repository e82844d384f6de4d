"""Options every command takes (``--json``, ``--log-level``) and the store options, kept in
``ctx.meta`` so that they may be given before or after the command's name."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

LEVELS = ("debug", "info", "warning", "error")
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _keep(name: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value not in (None, False, ()):
            ctx.meta[f"asyncz_like.{name}"] = value

    return callback


def option(ctx: click.Context, name: str, default: Any = None) -> Any:
    """An option kept by :func:`common_options` or :func:`store_options`."""
    return ctx.meta.get(f"asyncz_like.{name}", default)


def debugging(ctx: click.Context) -> bool:
    return bool(option(ctx, "log_level") == "debug")


def as_json(ctx: click.Context) -> bool:
    return bool(option(ctx, "json", False))


def common_options(fn: F) -> F:
    """``--json`` and ``--log-level``."""
    fn = click.option(
        "--log-level",
        type=click.Choice(LEVELS, case_sensitive=False),
        expose_value=False,
        callback=_log_level,
        help="Log to stderr from this level (debug also prints tracebacks).",
    )(fn)
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_keep("json"),
        help="Print JSON instead of a table.",
    )(fn)


def app_option(fn: F) -> F:
    """``--app module:attr``: the user's scheduler, its stores and broker."""
    return click.option(
        "--app",
        expose_value=False,
        callback=_keep("app"),
        envvar="ASYNCZ_LIKE_APP",
        help="module:attr of your scheduler (or of a function returning one): its stores "
        "and broker are used [env ASYNCZ_LIKE_APP]",
    )(fn)


def store_options(fn: F) -> F:
    """``--app`` or ``--store`` (with its table or keys): where the tasks are."""
    for name, help_text in reversed(
        (
            (
                "--store",
                "sqlite:///tasks.db, postgresql+psycopg://..., mysql+pymysql://..., "
                "redis://..., file:///dir (or a directory), or @config.json "
                "[env ASYNCZ_LIKE_STORE]",
            ),
            ("--tablename", "SQL table of the tasks (default: the store's)"),
            ("--tasks-key", "Redis hash of the records (default: the store's)"),
            ("--run-times-key", "Redis sorted set of the run times (default: the store's)"),
        )
    ):
        key = name.removeprefix("--").replace("-", "_")
        envvar = "ASYNCZ_LIKE_STORE" if key == "store" else None
        fn = click.option(
            name, expose_value=False, callback=_keep(key), envvar=envvar, help=help_text
        )(fn)
    return app_option(fn)


def _log_level(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    """Keep ``--log-level`` and apply it now: given after the command's name, it is read
    after the group has set up logging."""
    if value is not None:
        ctx.meta["asyncz_like.log_level"] = value.lower()
        if ctx.meta.get("asyncz_like.logging_set"):
            configure_logging(ctx)


def configure_logging(ctx: click.Context, default: str = "critical") -> None:
    """Log to stderr at ``--log-level`` (or ``default``), unless logging is set up. The
    short commands log nothing by default: they report what went wrong themselves."""
    level = str(option(ctx, "log_level", default)).upper()
    logger = logging.getLogger("asyncz_like")
    if not ctx.meta.get("asyncz_like.logging_set"):
        ctx.meta["asyncz_like.logging_set"] = True
        previous = logger.level  # put back at the end, for a process that embeds the group
        ctx.find_root().call_on_close(lambda: logger.setLevel(previous))
    logger.setLevel(level)
    if not logging.getLogger().handlers:
        logging.basicConfig(format=_FORMAT)
        ctx.meta["asyncz_like.root_logging"] = True
    if ctx.meta.get("asyncz_like.root_logging"):  # ours: the app's loggers follow the level
        logging.getLogger().setLevel(level)


def importable_here() -> None:
    """Let ``--app myapp.jobs:scheduler`` import from the current directory, as ``python -m``
    does (a console script's sys.path holds the script's directory instead)."""
    here = os.getcwd()
    if "" not in sys.path and here not in sys.path:
        sys.path.insert(0, here)
