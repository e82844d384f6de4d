"""Every command of ``asyncz-like``, added to the group."""

from __future__ import annotations

from asyncz_like.cli.app import cli
from asyncz_like.cli.dashboard import dashboard, dashboard_user
from asyncz_like.cli.overview import doctor, status, version
from asyncz_like.cli.running import start
from asyncz_like.cli.runs import retry, runs, stats
from asyncz_like.cli.task_adding import add, update
from asyncz_like.cli.task_changes import pause, remove, resume, run
from asyncz_like.cli.task_reading import broken, inspect, list_tasks, preview
from asyncz_like.cli.worker import worker
from asyncz_like.cli.worker_list import workers

__all__ = ["cli"]

for _command in (
    list_tasks,
    inspect,
    preview,
    add,
    update,
    pause,
    resume,
    remove,
    run,
    start,
    status,
    doctor,
    version,
    broken,
    runs,
    stats,
    retry,
    worker,
    workers,
    dashboard,
    dashboard_user,
):
    cli.add_command(_command)
