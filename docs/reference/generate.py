"""Write the API reference pages (docs/reference/*.md) from the packages' ``__all__``.

Run ``python docs/reference/generate.py`` after a public name or method is added or removed;
tests/unit/test_api_reference.py fails while the pages differ from what this writes. The
pages hold only autodoc directives: the text itself comes from the docstrings.

Each object is documented once, at its home (the first module below that exports it); a
module that re-exports it lists it in the index and points there. A class lists the public
members it defines or takes from a private mixin; those of a public base class are
documented on that base.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    intro: str
    modules: tuple[str, ...]


PAGES = (
    Page("schedulers", "Schedulers",
         "The package's own names and the schedulers: the task API, the run API, plugins "
         "and listeners are documented on `BaseScheduler`.",
         ("asyncz_like", "asyncz_like.schedulers")),
    Page("tasks", "Tasks and triggers",
         "A task is what runs and when; a trigger computes its fire times.",
         ("asyncz_like.tasks", "asyncz_like.triggers", "asyncz_like.triggers.cron")),
    Page("stores", "Stores", "Where tasks are kept: the store contract and its plugins.",
         ("asyncz_like.stores", "asyncz_like.stores.memory", "asyncz_like.stores.file",
          "asyncz_like.stores.sqlalchemy", "asyncz_like.stores.redis")),
    Page("executors", "Executors",
         "What runs a fire or an attempt: the event loop, a thread pool, a process pool.",
         ("asyncz_like.executors",)),
    Page("brokers", "Brokers",
         "Queues of runs shared by processes: the broker contract, its records and plugins.",
         ("asyncz_like.brokers", "asyncz_like.brokers.sqlalchemy", "asyncz_like.brokers.redis",
          "asyncz_like.brokers.rabbitmq")),
    Page("runs", "Runs and workers",
         "One record per execution, and the worker that claims runs from a broker.",
         ("asyncz_like.runs", "asyncz_like.workers", "asyncz_like.workers.persistent")),
    Page("events", "Events",
         "Event codes (bit masks) and the event objects that listeners receive.",
         ("asyncz_like.events",)),
    Page("serializers", "Serializers", "Task state and run records to bytes and back.",
         ("asyncz_like.serializers",)),
    Page("support", "Errors, helpers, locks, ASGI",
         "The errors, asyncz's helpers, the locks that let one process of several work a "
         "store, and the ASGI lifespan wrapper.",
         ("asyncz_like.exceptions", "asyncz_like.utils", "asyncz_like.locks", "asyncz_like.asgi",
          "asyncz_like.contrib.asgi")),
    Page("observability", "Metrics and traces",
         "Prometheus metrics and OpenTelemetry traces of a scheduler or a worker.",
         ("asyncz_like.contrib.prometheus", "asyncz_like.contrib.opentelemetry")),
    Page("dashboard", "Dashboard",
         "The web dashboard: an ASGI app to mount, or a server to run; users and roles.",
         ("asyncz_like.dashboard", "asyncz_like.dashboard.auth")),
)  # fmt: skip

#: Modules without ``__init__`` whose ``__all__`` is public too.
PUBLIC_MODULES = ("asyncz_like.exceptions", "asyncz_like.utils", "asyncz_like.locks",
                  "asyncz_like.asgi", "asyncz_like.contrib.asgi",
                  "asyncz_like.dashboard.auth", "asyncz_like.contrib.opentelemetry")  # fmt: skip


def exported(modname: str) -> list[tuple[str, Any]]:
    module = importlib.import_module(modname)
    return [(name, getattr(module, name)) for name in module.__all__]


def homes() -> dict[int, str]:
    """The documented full name of every object, by id: the exporting module closest to where
    it is defined (else the first in PAGES)."""
    found: dict[int, tuple[int, str]] = {}
    for page in PAGES:
        for modname in page.modules:
            for name, obj in exported(modname):
                if isinstance(obj, int | float | str):  # equal values may share an id
                    continue
                defined = getattr(obj, "__module__", None) or ""
                depth = len(modname) if f"{defined}.".startswith(f"{modname}.") else 0
                if id(obj) not in found or depth > found[id(obj)][0]:
                    found[id(obj)] = (depth, f"{modname}.{name}")
    return {key: full for key, (_, full) in found.items()}


def class_members(cls: type, public: set[int]) -> list[str]:
    """Public members that ``cls`` defines or takes from a private mixin, in MRO order."""
    covered = {klass for base in cls.__mro__[1:] if id(base) in public for klass in base.__mro__}

    def names_of(klass: type) -> list[str]:
        return [*vars(klass), *getattr(klass, "__annotations__", {})]

    members: list[str] = []
    for klass in cls.__mro__:
        if klass in covered or not klass.__module__.startswith("asyncz_like"):
            continue
        for name in names_of(klass):
            if name.startswith("_") or name in members:
                continue
            supplier = next(k for k in cls.__mro__ if name in names_of(k))
            if supplier is klass:
                members.append(name)
    return members


def directive(full: str, obj: Any, home: str, public: set[int]) -> list[str]:
    """The autodoc directive of one exported name (and its index entry for a re-export)."""
    if inspect.isclass(obj):
        kind, options = "autoclass", [":no-members:"]
        members = class_members(obj, public) if home == full else []
        if members:
            options = [":members: " + ", ".join(members)]
    elif inspect.isfunction(obj) or inspect.isbuiltin(obj):
        kind, options = "autofunction", []
    else:
        kind, options = "autodata", [] if isinstance(obj, int | float | str) else [":no-value:"]
    lines = [f".. {kind}:: {full}", *(f"   {option}" for option in options)]
    if home != full:
        lines[1:1] = ["   :no-index:"]
        lines = [f".. index:: single: {full}", "", *lines, "", f"   The same as :py:obj:`{home}`."]
    return [*lines, ""]


def page_text(page: Page, found: dict[int, str], public: set[int]) -> str:
    lines = [f"# {page.title}", "", page.intro, ""]
    for modname in page.modules:
        lines += [f"## `{modname}`", "", "```{eval-rst}", f".. module:: {modname}", ""]
        for name, obj in exported(modname):
            full = f"{modname}.{name}"
            lines += directive(full, obj, found.get(id(obj), full), public)
        lines[-1:] = ["```", ""]
    return "\n".join(lines).rstrip() + "\n"


def index_text() -> str:
    slugs = [page.slug for page in PAGES]
    return "\n".join([
        "# API reference", "",
        "Every public name of the package, generated from its docstrings: the names in each",
        "package's `__all__` and in the modules `exceptions`, `utils`, `locks` and `asgi`. The",
        "{ref}`general index <genindex>` lists them all. The `asyncz-like` command has",
        "[a page of its own](../cli.md).", "",
        "```{toctree}", ":maxdepth: 2", "", *slugs, "```", "",
    ])  # fmt: skip


def pages() -> dict[str, str]:
    """File name -> text of every reference page."""
    found = homes()
    public = {key for key, full in found.items() if inspect.isclass(eval_name(full))}
    texts = {f"{page.slug}.md": page_text(page, found, public) for page in PAGES}
    return {"index.md": index_text(), **texts}


def eval_name(full: str) -> Any:
    modname, _, name = full.rpartition(".")
    return getattr(importlib.import_module(modname), name)


if __name__ == "__main__":
    for filename, text in pages().items():
        (HERE / filename).write_text(text)
