from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brokers.backends import BACKENDS, BrokerBackend, made_backend


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made
