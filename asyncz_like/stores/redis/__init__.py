"""The Redis store (alias ``"redis"``); redis-py is imported when a store is made."""

from asyncz_like.stores.redis.store import RedisStore

__all__ = ["RedisStore"]
