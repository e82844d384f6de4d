"""The broker plugins by alias, and a broker from whatever a user gives: an instance, a
``{"type": alias, ...}`` config or a URL."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.registry import PluginRegistry

BROKERS: PluginRegistry[BaseBroker] = PluginRegistry(
    "broker",
    BaseBroker,  # type: ignore[type-abstract]  # only used for isinstance checks
    {
        "memory": "asyncz_like.brokers.memory:MemoryBroker",
        "sqlalchemy": "asyncz_like.brokers.sqlalchemy:SQLAlchemyBroker",
        "redis": "asyncz_like.brokers.redis:RedisBroker",
        "rabbitmq": "asyncz_like.brokers.rabbitmq:RabbitMQBroker",
    },
)

#: URL schemes (before any ``+driver``) -> (broker alias, the option the URL is given as).
URL_SCHEMES: dict[str, tuple[str, str]] = {
    "memory": ("memory", ""),
    "sqlite": ("sqlalchemy", "database"),
    "postgresql": ("sqlalchemy", "database"),
    "postgres": ("sqlalchemy", "database"),
    "mysql": ("sqlalchemy", "database"),
    "mariadb": ("sqlalchemy", "database"),
    "redis": ("redis", "url"),
    "rediss": ("redis", "url"),
    "amqp": ("rabbitmq", "url"),
    "amqps": ("rabbitmq", "url"),
}


def make_broker(
    value: BaseBroker | Mapping[str, Any] | str, argument: str = "broker"
) -> BaseBroker:
    """A broker from an instance (as is), a ``{"type": alias, **options}`` config, an alias
    (``"memory"``) or a URL (``sqlite:///runs.db``, ``postgresql+psycopg://...``,
    ``mysql+pymysql://...``, ``redis://...``, ``amqp://...``). Unknown ones raise an error
    naming ``argument`` and what is known."""
    if isinstance(value, str):
        return BROKERS.build(_config_of_url(value, argument), argument)
    return BROKERS.build(value, argument)


def _config_of_url(url: str, argument: str) -> dict[str, Any]:
    if "://" not in url:
        if url in URL_SCHEMES:
            return {"type": URL_SCHEMES[url][0]}
        if url in BROKERS.aliases():
            return {"type": url}
        raise ValueError(
            f"{argument}={url!r} is neither a broker alias ({', '.join(BROKERS.aliases())}) "
            f"nor a URL (e.g. sqlite:///runs.db, postgresql+psycopg://user@host/db, "
            f"redis://host:6379/0, amqp://guest:guest@host/)"
        )
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower()
    if scheme not in URL_SCHEMES:
        raise ValueError(
            f"{argument}: no broker for URLs of scheme {scheme!r}; known schemes: "
            f"{', '.join(sorted(URL_SCHEMES))}"
        )
    alias, option = URL_SCHEMES[scheme]
    return {"type": alias, option: url} if option else {"type": alias}
