from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores.backends import BACKENDS, Backend

_MODULES = {
    "file": "asyncz_like.stores.file",
    "sqlite": "asyncz_like.stores.sqlalchemy",
    "postgresql": "asyncz_like.stores.sqlalchemy",
    "mariadb": "asyncz_like.stores.sqlalchemy",
    "redis": "asyncz_like.stores.redis",
}


def _available(name: str) -> bool:
    module = _MODULES.get(name)
    return module is None or importlib.util.find_spec(module) is not None


@pytest.fixture(params=[name for name in BACKENDS if _available(name)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = BACKENDS[request.param](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()
