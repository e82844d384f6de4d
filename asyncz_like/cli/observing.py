"""``--metrics-port`` and ``--otel`` of ``worker`` and ``start``: Prometheus metrics served by
the process, OpenTelemetry traces through the global tracer provider. The adapters are the
``prometheus`` and ``otel`` extras, imported only when asked for (by name, as the dashboard:
``contrib`` is a sibling layer of ``cli``, not one below it)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module
from typing import Any, TypeVar

import click

from asyncz_like.cli.errors import CommandError
from asyncz_like.exceptions import MissingDependencyError
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.workers import Worker

__all__ = ["Observing", "observe", "observing_options"]

logger = logging.getLogger("asyncz_like.cli")
F = TypeVar("F", bound=Callable[..., Any])


def observing_options(command: F) -> F:
    """``--metrics-port``, ``--metrics-host`` and ``--otel``."""
    command = click.option(
        "--otel",
        is_flag=True,
        help="Trace runs (and a started scheduler's fires) with OpenTelemetry's global "
        "tracer provider (set it up with the OTEL_* variables under opentelemetry-instrument).",
    )(command)
    command = click.option(
        "--metrics-host",
        default="0.0.0.0",
        show_default=True,
        help="Address --metrics-port listens on.",
    )(command)
    return click.option(
        "--metrics-port",
        type=click.IntRange(0, 65535),
        help="Serve Prometheus metrics on this port at /metrics.",
    )(command)


class Observing:
    """What :func:`observe` set up: the metrics server and the tracing, to stop at the end."""

    def __init__(self) -> None:
        self.server: Any = None
        self.port: int | None = None
        self.metrics: Any = None
        self.tracing: Any = None

    def close(self) -> None:
        """Stop serving metrics; flush the spans of the global provider, if it can."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.metrics is not None:
            self.metrics.uninstrument()
        if self.tracing is not None:
            self.tracing.uninstrument()
            provider = import_module("opentelemetry.trace").get_tracer_provider()
            flush = getattr(provider, "force_flush", None)
            if flush is not None:
                flush()


def observe(
    target: BaseScheduler | Worker, metrics_port: int | None, metrics_host: str, otel: bool
) -> Observing:
    """Instrument ``target`` as the options ask (before it starts)."""
    observing = Observing()
    if metrics_port is not None:
        prometheus = _extra("asyncz_like.contrib.prometheus")
        client = _extra("prometheus_client")
        try:
            server, _ = client.start_http_server(metrics_port, addr=metrics_host)
        except OSError as exc:
            raise CommandError(
                f"--metrics-port {metrics_port}: cannot listen on {metrics_host}: {exc.strerror}"
            ) from exc
        observing.server, observing.port = server, server.server_address[1]
        observing.metrics = prometheus.instrument(target)  # the registry the server serves
        click.echo(f"metrics on http://{metrics_host}:{observing.port}/metrics")
    if otel:
        opentelemetry = _extra("asyncz_like.contrib.opentelemetry")
        # asked for on the command line: a started scheduler traces its own fires too
        observing.tracing = opentelemetry.instrument(target, in_process=True)
        provider = import_module("opentelemetry.trace").get_tracer_provider()
        if type(provider).__name__ in ("ProxyTracerProvider", "NoOpTracerProvider"):
            logger.warning(
                "--otel: no OpenTelemetry tracer provider is set up, spans go nowhere: run "
                "under opentelemetry-instrument (opentelemetry-distro) with OTEL_* variables"
            )
    return observing


def _extra(name: str) -> Any:
    try:
        return import_module(name)
    except MissingDependencyError as exc:
        raise CommandError(str(exc)) from exc
    except ModuleNotFoundError as exc:
        extra = "prometheus" if "prometheus" in name else "otel"
        raise CommandError(
            f"{exc.name} is required for this option: pip install 'asyncz_like[{extra}]'"
        ) from exc
