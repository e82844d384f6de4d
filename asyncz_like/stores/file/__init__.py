"""The file store: ``FileStore`` (alias ``"file"``). See docs/store-file.md."""

from asyncz_like.stores.file.store import FileStore

__all__ = ["FileStore"]
