"""``start``: run the scheduler of ``--app`` until SIGINT/SIGTERM, as ``celery beat`` does."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable

import click

from asyncz_like.cli.observing import Observing, observe, observing_options
from asyncz_like.cli.options import app_option, common_options, configure_logging, option
from asyncz_like.cli.targets import load_app
from asyncz_like.schedulers.base import BaseScheduler

__all__ = ["run_scheduler", "start"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@click.command()
@click.option("--seconds", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@app_option
@observing_options
@common_options
@click.pass_context
def start(
    ctx: click.Context,
    seconds: float | None,
    metrics_port: int | None,
    metrics_host: str,
    otel: bool,
) -> None:
    """Run the scheduler of --app until SIGINT or SIGTERM (shutdown tasks run)."""
    reference = option(ctx, "app")
    if not reference:
        raise click.UsageError("start needs --app module:scheduler")
    run_scheduler(ctx, reference, seconds, lambda s: observe(s, metrics_port, metrics_host, otel))


def run_scheduler(
    ctx: click.Context,
    reference: str,
    seconds: float | None,
    instrument: Callable[[BaseScheduler], Observing] | None = None,
) -> None:
    """Import ``module:attr`` (a scheduler, or a function returning one) and run it until
    SIGINT/SIGTERM, or for ``seconds``. Logs at info unless ``--log-level`` says otherwise.
    ``instrument`` is called with the scheduler before it starts."""
    configure_logging(ctx, "info")
    scheduler = load_app(reference)
    observing = instrument(scheduler) if instrument is not None else None
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _SIGNALS}
    try:
        _run_until(scheduler, stop, seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if observing is not None:
            observing.close()
    click.echo("scheduler stopped")


def _run_until(scheduler: BaseScheduler, stop: threading.Event, seconds: float | None) -> None:
    from asyncz_like.schedulers.asyncio import AsyncIOScheduler
    from asyncz_like.schedulers.blocking import BackgroundScheduler, BlockingScheduler

    if isinstance(scheduler, AsyncIOScheduler):
        import asyncio

        async def main() -> None:
            scheduler.start()
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, stop.wait, seconds)
            await scheduler.shutdown_async()

        asyncio.run(main())
    elif isinstance(scheduler, BlockingScheduler) and not isinstance(
        scheduler, BackgroundScheduler
    ):
        watcher = threading.Thread(target=_stop_after, args=(scheduler, stop, seconds), daemon=True)
        watcher.start()
        try:
            scheduler.start()  # blocks in this thread until the watcher shuts it down
        finally:
            stop.set()
        watcher.join(5)
    else:
        scheduler.start()
        stop.wait(seconds)
        scheduler.shutdown()


def _stop_after(scheduler: BaseScheduler, stop: threading.Event, seconds: float | None) -> None:
    stop.wait(seconds)
    for _ in range(500):  # the other thread may be starting it still
        if scheduler.running:
            scheduler.shutdown()
            return
        time.sleep(0.01)
