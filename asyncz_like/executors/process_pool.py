"""asyncz's module for the process pool executor."""

from asyncz_like.executors.pool import ProcessPoolExecutor

__all__ = ["ProcessPoolExecutor"]
