from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stores.backends import BACKENDS, Backend


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = BACKENDS[request.param](tmp_path)
    try:
        yield made
    finally:
        made.cleanup()
