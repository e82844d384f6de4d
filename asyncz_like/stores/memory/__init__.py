"""The memory store: tasks kept in this process, as rows the garbage collector skips."""

from asyncz_like.stores.memory.store import MemoryStore

__all__ = ["MemoryStore"]
