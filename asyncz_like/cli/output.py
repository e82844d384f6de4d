"""Human output as aligned tables (rich), or JSON with ``--json``."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

__all__ = ["console", "emit", "show_json", "show_table", "text_of"]

#: Width of the output when it is not a terminal (a pipe, a file): wide, not cut.
PIPE_WIDTH = 250


def console() -> Console:
    """A console on the current stdout (click's, in tests)."""
    out = sys.stdout
    return Console(file=out, width=None if out.isatty() else PIPE_WIDTH, highlight=False)


def text_of(value: Any) -> str:
    """A cell's text: times in ISO 8601, None as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def show_table(
    header: Sequence[str], rows: Iterable[Sequence[Any]], title: str | None = None
) -> None:
    """An aligned table; ``(none)`` when there are no rows."""
    rows = list(rows)
    if not rows:
        click.echo("(none)")
        return
    table = Table(*header, title=title, box=None, header_style="bold", pad_edge=False)
    for row in rows:
        table.add_row(*(Text(text_of(value)) for value in row))  # no markup in values
    rendered = console()
    with rendered.capture() as captured:
        rendered.print(table)
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


def show_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=_plain))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def emit(as_json: bool, value: Any, header: Sequence[str], keys: Sequence[str]) -> None:
    """``value`` (a list of dicts) as JSON, or as a table of ``keys`` under ``header``."""
    if as_json:
        show_json(value)
    else:
        show_table(header, ([row.get(key) for key in keys] for row in value))
