"""asyncz's ``defaults`` tables name the same classes as the registries the scheduler uses:
a plugin added to one and not the other fails here, not in a user's code."""

from __future__ import annotations

from typing import Any

import pytest

from asyncz_like.executors import EXECUTORS
from asyncz_like.registry import PluginRegistry
from asyncz_like.schedulers import defaults
from asyncz_like.stores import STORES
from asyncz_like.triggers import TRIGGERS
from asyncz_like.utils import ref_to_obj


@pytest.mark.parametrize(
    ("table", "registry"),
    [(defaults.stores, STORES), (defaults.triggers, TRIGGERS), (defaults.executors, EXECUTORS)],
    ids=["stores", "triggers", "executors"],
)
def test_each_defaults_table_matches_its_registry(
    table: dict[str, str], registry: PluginRegistry[Any]
) -> None:
    assert sorted(table) == sorted(registry.aliases())
    for alias, reference in table.items():
        assert ref_to_obj(reference) is registry.get(alias), alias
