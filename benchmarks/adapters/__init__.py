"""One adapter per library: the same few scheduler operations in each library's API.

Each adapter module is imported inside that library's own virtualenv only.
"""

from __future__ import annotations

import importlib

from adapters.base import Adapter, Job

__all__ = ["Adapter", "Job", "load_adapter"]


def load_adapter(library: str) -> Adapter:
    """The adapter of ``library`` (a module name in this package)."""
    module = importlib.import_module(f"adapters.{library}")
    adapter: Adapter = module.ADAPTER_CLASS()
    return adapter
