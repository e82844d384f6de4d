"""The ``asyncz-like`` group: its global options, and errors turned into one line."""

from __future__ import annotations

from typing import Any

import click

from asyncz_like.cli.errors import reported
from asyncz_like.cli.options import (
    common_options,
    configure_logging,
    debugging,
    importable_here,
)

__all__ = ["Group", "cli"]

#: Old names that still work.
ALIASES = {"tasks": "list"}


class Group(click.Group):
    """Commands by name or old alias; any error of a command becomes one line on stderr
    (its traceback too with ``--log-level debug``) and exit status 1."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return super().get_command(ctx, ALIASES.get(cmd_name, cmd_name))

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            raise reported(exc, debugging(ctx)) from exc


def _print_version(ctx: click.Context, _: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        from asyncz_like.cli.overview import version_text

        click.echo(version_text())
        ctx.exit()


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Print the version and exit.",
)
@common_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Look at and change the tasks of a store; run a scheduler, a worker or the dashboard.

    Where the tasks are: --app module:scheduler (your scheduler's stores and broker, as
    `celery -A`) or --store URL. Commands that only read create nothing.
    """
    importable_here()
    configure_logging(ctx)
