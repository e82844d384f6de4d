"""What a command works on: the stores (and broker) of ``--app module:scheduler``, or the
one store ``--store`` names. Stores are attached (``BaseStore.attach``): nothing is
created, no scheduler starts, nothing fires."""

from __future__ import annotations

import json
from contextlib import suppress
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Any

import click

from asyncz_like.cli.options import importable_here, option
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.schedulers.blocking import BackgroundScheduler
from asyncz_like.stores.base import BaseStore

__all__ = ["Target", "load_app", "open_target", "store_config"]


@dataclass
class Target:
    """A scheduler that is never started, and its stores, attached."""

    scheduler: BaseScheduler
    stores: dict[str, BaseStore] = field(default_factory=dict)
    #: Where the tasks are, for messages: ``--app x:y`` or ``--store url``.
    described: str = ""

    def close(self) -> None:
        for store in self.stores.values():
            store.shutdown()


def load_app(reference: str) -> BaseScheduler:
    """The scheduler ``module:attr`` names (``module`` alone: its ``scheduler``), or the one
    a function of that name returns. The current directory is importable."""
    importable_here()
    module_name, _, attr = reference.partition(":")
    if not module_name:
        raise click.BadParameter(f"{reference!r}: expected module:attr", param_hint="--app")
    module: Any = import_module(module_name)  # its own error says which module is missing
    target: Any = module
    try:
        for name in (attr or "scheduler").split("."):
            target = getattr(target, name)
    except AttributeError:
        raise click.BadParameter(
            f"{reference!r}: module {module_name!r} has no {attr or 'scheduler'!r}",
            param_hint="--app",
        ) from None
    if callable(target) and not isinstance(target, BaseScheduler):
        target = target()
    if not isinstance(target, BaseScheduler):
        raise click.BadParameter(
            f"{reference!r} is not a scheduler (nor returns one): {type(target).__name__}",
            param_hint="--app",
        )
    return target


def json_config(spec: str, option: str) -> dict[str, Any]:
    """The ``{"type": ...}`` object of the JSON file ``@path`` given to ``option``."""
    try:
        config = json.loads(Path(spec[1:]).read_text())
    except (OSError, ValueError) as exc:
        raise click.BadParameter(
            f"{spec}: cannot read a JSON config: {exc}", param_hint=option
        ) from None
    if not isinstance(config, dict) or "type" not in config:
        raise click.BadParameter(
            f"{spec}: the JSON must be an object with a 'type'", param_hint=option
        )
    return config


def store_config(
    spec: str, tablename: str | None, tasks_key: str | None, run_times_key: str | None
) -> dict[str, Any]:
    """The ``{"type": ...}`` config of ``--store``: a database URL (SQL), ``redis://``,
    ``file:///dir`` or an existing directory, or ``@config.json``. Redis keys not given are
    the store's own defaults, as in a scheduler that sets only some of them."""
    if spec.startswith("@"):
        return json_config(spec, "--store")
    if spec.startswith(("redis://", "rediss://", "unix://")):
        keys = {"tasks_key": tasks_key, "run_times_key": run_times_key}
        return {"type": "redis", "url": spec} | {k: v for k, v in keys.items() if v}
    if spec.startswith("file://"):
        return {"type": "file", "directory": spec.removeprefix("file://")}
    if "://" in spec:
        config = {"type": "sqlalchemy", "database": spec}
        return config | ({"tablename": tablename} if tablename else {})
    if Path(spec).is_dir():
        return {"type": "file", "directory": spec}
    raise click.BadParameter(
        f"{spec!r}: expected a database URL (sqlite:///tasks.db, postgresql+psycopg://..., "
        "mysql+pymysql://..., redis://...), file:///dir or an existing directory, or "
        "@config.json",
        param_hint="--store",
    )


def app_or_store(ctx: click.Context) -> tuple[BaseScheduler, str]:
    """The scheduler of ``--app``, or one made for ``--store`` (never started)."""
    app, spec = option(ctx, "app"), option(ctx, "store")
    if app and spec:
        raise click.UsageError("give --app or --store, not both")
    if app:
        return load_app(app), f"--app {app}"
    if not spec:
        raise click.UsageError("where are the tasks? give --app module:scheduler or --store URL")
    config = store_config(
        spec, option(ctx, "tablename"), option(ctx, "tasks_key"), option(ctx, "run_times_key")
    )
    return BackgroundScheduler(stores={"default": config}), f"--store {spec}"


def open_target(ctx: click.Context, create: bool = False) -> Target:
    """The stores, attached (``create``: started, so that a missing table or directory is
    made, for ``add``); closed when the command ends."""
    scheduler, described = app_or_store(ctx)
    target = Target(scheduler, described=described)
    ctx.call_on_close(target.close)
    for alias, store in scheduler.stores.items():
        try:
            (store.start if create else store.attach)(scheduler, alias)
        except BaseException:
            with suppress(Exception):  # free its connections; the first error is the one
                store.shutdown()
            raise
        target.stores[alias] = store
    return target
