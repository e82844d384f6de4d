"""The Redis broker: Lua-scripted claims over sorted sets, pub/sub to wake idle workers."""

from asyncz_like.brokers.redis.broker import RedisBroker

__all__ = ["RedisBroker"]
