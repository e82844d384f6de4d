"""Errors on the command line: one line with the cause, a non-zero exit, no traceback
unless ``--log-level debug``."""

from __future__ import annotations

import traceback
from typing import IO, Any

import click

__all__ = ["CommandError", "one_line", "reported"]

#: Exit status of a command that failed (2 is click's, for bad usage).
FAILED = 1


class CommandError(click.ClickException):
    """A command failed: printed as ``asyncz-like: <message>`` on stderr, exit status 1."""

    exit_code = FAILED

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"asyncz-like: {self.format_message()}", file=file, err=True)


def one_line(error: BaseException) -> str:
    """``Type: message`` of ``error`` on one line, with its deepest cause (a refused
    connection, the module that is missing) when that says something else."""
    text = _first_line(error)
    root = error
    seen = {id(error)}
    while (below := root.__cause__ or root.__context__) is not None and id(below) not in seen:
        seen.add(id(below))
        root = below
    said = str(root).strip().splitlines()
    if root is not error and not (said and said[0].strip() in text):
        text = f"{text} (caused by {_first_line(root)})"
    return text


def _first_line(error: BaseException) -> str:
    message = str(error).strip().splitlines()
    name = type(error).__name__
    return f"{name}: {message[0].strip()}" if message else name


def reported(error: Exception, debug: bool) -> CommandError:
    """The CommandError to raise for ``error``; with ``debug`` its traceback first."""
    if debug:
        click.echo("".join(traceback.format_exception(error)), err=True, nl=False)
    return CommandError(one_line(error))
