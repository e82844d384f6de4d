"""Real servers for service tests: reachable, or a skip locally and a failure under CI=true."""

from __future__ import annotations

import importlib
import os
import socket

import pytest

POSTGRES_URL = os.environ.get(
    "ASYNCZ_LIKE_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
MARIADB_URL = os.environ.get("ASYNCZ_LIKE_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")
#: The same server through mysqlclient, the C driver (the ``mysqlclient`` extra).
MARIADB_MYSQLCLIENT_URL = os.environ.get(
    "ASYNCZ_LIKE_MARIADB_MYSQLCLIENT_URL", "mysql+mysqldb://root@127.0.0.1:3306/test"
)
REDIS_HOST = os.environ.get("ASYNCZ_LIKE_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("ASYNCZ_LIKE_REDIS_PORT", "6379"))
RABBITMQ_URL = os.environ.get("ASYNCZ_LIKE_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")

_PORTS = {"postgresql": 5432, "mariadb": 3306, "redis": REDIS_PORT, "rabbitmq": 5672}


def require_service(name: str) -> None:
    """Skip (locally) or fail (CI=true) when the named server does not answer."""
    port = _PORTS[name]
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return
    except OSError as exc:
        _unavailable(f"{name} is not reachable on 127.0.0.1:{port}: {exc}")


def require_driver(module: str, extra: str) -> None:
    """Skip (locally) or fail (CI=true) when the driver ``module`` of the extra ``extra``
    cannot be imported (``make test`` installs them all)."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        _unavailable(f"{module} is not installed (pip install 'asyncz_like[{extra}]'): {exc}")


def _unavailable(message: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
