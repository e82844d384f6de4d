"""Opening a store named on the command line: a URL, a directory, or a JSON config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from asyncz_like.schedulers.blocking import BackgroundScheduler
from asyncz_like.stores.base import BaseStore


class StoreSpecError(ValueError):
    """The store given on the command line cannot be understood."""


def store_config(spec: str, tablename: str | None, tasks_key: str | None) -> dict[str, Any]:
    """The ``{"type": ...}`` config of ``spec``:

    * ``sqlite:///tasks.db``, ``postgresql+psycopg://...``, ``mysql+pymysql://...``: SQL;
    * ``redis://host:port/db``: Redis;
    * ``file:///path`` or an existing directory: the file store;
    * ``@config.json``: a JSON object with ``"type"`` and the store's options.
    """
    if spec.startswith("@"):
        try:
            config = json.loads(Path(spec[1:]).read_text())
        except (OSError, ValueError) as exc:
            raise StoreSpecError(f"--store {spec}: cannot read a JSON config: {exc}") from exc
        if not isinstance(config, dict) or "type" not in config:
            raise StoreSpecError(f"--store {spec}: the JSON must be an object with a 'type'")
        return config
    if spec.startswith(("redis://", "rediss://", "unix://")):
        config = {"type": "redis", "url": spec}
        if tasks_key:
            config |= {"tasks_key": tasks_key, "run_times_key": f"{tasks_key}.run_times"}
        return config
    if spec.startswith("file://"):
        return {"type": "file", "directory": spec.removeprefix("file://")}
    if "://" in spec:
        config = {"type": "sqlalchemy", "database": spec}
        return config | ({"tablename": tablename} if tablename else {})
    if Path(spec).is_dir():
        return {"type": "file", "directory": spec}
    raise StoreSpecError(
        f"--store {spec!r}: expected a database URL (sqlite:///tasks.db, postgresql+psycopg://"
        "..., mysql+pymysql://..., redis://...), file:///dir or an existing directory, or "
        "@config.json"
    )


def open_store(config: dict[str, Any]) -> tuple[BaseStore, BackgroundScheduler]:
    """The store, started on a scheduler that is never started itself: nothing fires, and no
    shutdown task runs, while the command works on the store."""
    scheduler = BackgroundScheduler(stores={"default": config})
    store = scheduler.lookup_store("default")
    store.start(scheduler, "default")
    return store, scheduler
