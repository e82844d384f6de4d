"""asyncz's module path for the BackgroundScheduler."""

from asyncz_like.schedulers.blocking import BackgroundScheduler

__all__ = ["BackgroundScheduler"]
