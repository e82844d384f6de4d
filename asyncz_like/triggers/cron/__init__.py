"""The cron trigger (croniter behind :mod:`asyncz_like.triggers.cron.adapter`)."""

from asyncz_like.triggers.cron.trigger import CronTrigger

__all__ = ["CronTrigger"]
