"""Plugins found by alias: ``{"type": "redis", ...}`` builds what ``RedisStore(...)`` does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from asyncz_like.exceptions import UnknownAliasError
from asyncz_like.utils import ref_to_obj

T = TypeVar("T")


class PluginRegistry(Generic[T]):
    """Maps aliases to classes, given as classes or as lazy ``module:qualname`` references.

    References are imported on first use, so that an optional dependency (sqlalchemy, redis)
    is imported only by those who ask for its plugin.
    """

    def __init__(self, kind: str, base: type[T], entries: Mapping[str, str | type[T]]) -> None:
        self.kind = kind
        self.base = base
        self._entries: dict[str, str | type[T]] = dict(entries)

    def register(self, alias: str, plugin: str | type[T]) -> None:
        """Make ``alias`` build ``plugin`` (a class or a ``module:qualname`` reference)."""
        self._entries[alias] = plugin

    def aliases(self) -> list[str]:
        return sorted(self._entries)

    def get(self, alias: str) -> type[T]:
        """The class registered under ``alias``; raises UnknownAliasError naming the known ones."""
        try:
            entry = self._entries[alias]
        except (KeyError, TypeError):
            raise UnknownAliasError(self.kind, alias, self._entries) from None
        if isinstance(entry, str):
            entry = ref_to_obj(entry)
            if not (isinstance(entry, type) and issubclass(entry, self.base)):
                raise TypeError(f"{self.kind} plugin {alias!r} is not a {self.base.__name__}")
            self._entries[alias] = entry
        return entry

    def create(self, alias: str, **options: Any) -> T:
        return self.get(alias)(**options)

    def build(self, value: T | Mapping[str, Any], argument: str) -> T:
        """An instance as is, or one built from a ``{"type": alias, **options}`` mapping."""
        if isinstance(value, self.base):
            return value
        if isinstance(value, Mapping):
            options = dict(value)
            alias = options.pop("type", None) or options.pop("class", None)
            if alias is None:
                raise ValueError(f"{argument}: a {self.kind} config needs a 'type' key")
            if isinstance(alias, str) and ":" in alias and alias not in self._entries:
                alias = ref_to_obj(alias)  # a "module:Class" reference, as asyncz's "class"
            if isinstance(alias, type):
                if not issubclass(alias, self.base):
                    raise TypeError(f"{argument}: {alias.__name__} is not a {self.base.__name__}")
                return alias(**options)
            return self.create(alias, **options)
        raise TypeError(
            f"Expected {self.kind} instance or dict for {argument}, "
            f"got {type(value).__name__} instead."
        )
