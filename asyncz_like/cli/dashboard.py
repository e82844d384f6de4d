"""``dashboard`` (serve the web dashboard of ``--app``) and ``dashboard-user`` (a line of
its users file). The dashboard is the ``dashboard`` extra, imported only here."""

from __future__ import annotations

from importlib import import_module
from typing import Any

import click

from asyncz_like.cli.errors import CommandError
from asyncz_like.cli.options import app_option, common_options, configure_logging, option
from asyncz_like.cli.targets import load_app

__all__ = ["dashboard", "dashboard_user"]

ROLES = ("viewer", "operator")


def _dashboard_module(name: str) -> Any:
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name and (name == exc.name or name.startswith(f"{exc.name}.")):
            raise CommandError(
                "the dashboard is not installed: pip install 'asyncz_like[dashboard]'"
            ) from exc
        raise CommandError(
            f"the dashboard needs {exc.name}: pip install 'asyncz_like[dashboard]'"
        ) from exc


def _bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{value!r}: expected HOST:PORT", param_hint="--bind")
    return host.strip("[]"), int(port)


@click.command()
@click.option("--bind", default="127.0.0.1:8765", show_default=True, help="HOST:PORT to listen on.")
@click.option(
    "--users",
    "users_file",
    type=click.Path(dir_okay=False),
    help="Users file (lines from `asyncz-like dashboard-user`).",
)
@app_option
@common_options
@click.pass_context
def dashboard(ctx: click.Context, bind: str, users_file: str | None) -> None:
    """Serve the web dashboard of the scheduler of --app until Ctrl-C."""
    host, port = _bind(bind)
    reference = option(ctx, "app")
    if not reference:
        raise click.UsageError("dashboard needs --app module:scheduler")
    serve = _dashboard_module("asyncz_like.dashboard").serve
    configure_logging(ctx, "info")
    serve(load_app(reference), host=host, port=port, users_file=users_file)


@click.command("dashboard-user")
@click.argument("name")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.password_option(prompt="Password", help="Asked for (hidden, twice) when not given.")
def dashboard_user(name: str, role: str, password: str) -> None:
    """Print the users-file line of NAME (the password stored as a hash only)."""
    user_line = _dashboard_module("asyncz_like.dashboard.auth").user_line
    click.echo(user_line(name, role, password))
