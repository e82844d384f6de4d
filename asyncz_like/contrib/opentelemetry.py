"""OpenTelemetry traces of runs sent through a broker (extra ``otel``: opentelemetry-api).

A PRODUCER span per enqueued run, whose context travels in the run's ``headers`` (W3C trace
context, or the global propagator's format); a CONSUMER span per attempt in the worker that
runs it, a child of that context, current while the function runs (so its own spans nest
under it, in a coroutine or a thread). Attributes follow OpenTelemetry's messaging
conventions. See docs/observability.md.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable
from contextvars import ContextVar, Token
from datetime import datetime
from typing import Any

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.context import Context
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
except ImportError:  # pragma: no cover - the extra is installed in the test venv
    from asyncz_like.exceptions import MissingDependencyError

    raise MissingDependencyError("opentelemetry-api", "otel") from None

from asyncz_like.brokers.base import BaseBroker
from asyncz_like.brokers.records import Envelope
from asyncz_like.events.base import RunEvent
from asyncz_like.events.constants import (
    RUN_CANCELLED,
    RUN_COMPLETED,
    RUN_FAILED,
    RUN_RETRYING,
    RUN_STARTED,
    RUN_TIMEOUT,
)
from asyncz_like.runs.status import RunStatus
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.workers.worker import Worker

__all__ = ["MESSAGING_SYSTEM", "Tracing", "instrument"]

#: ``messaging.system`` of every span (none of the registered values names a library's own
#: queue on a database; the broker's kind is in ``asyncz_like.broker``).
MESSAGING_SYSTEM = "asyncz_like"
_ENDINGS = RUN_COMPLETED | RUN_FAILED | RUN_TIMEOUT | RUN_CANCELLED | RUN_RETRYING
_MASK = RUN_STARTED | _ENDINGS
_WRAPPED = "__asyncz_like_traced__"
#: The consumer span of the run this worker task supervises, and the token of its context.
_CURRENT: ContextVar[tuple[Span, Token[Context]] | None] = ContextVar(
    "asyncz_like_otel_run", default=None
)


class Tracing:
    """What :func:`instrument` set up; :meth:`uninstrument` undoes it."""

    def __init__(self, target: BaseScheduler | Worker, tracer: Any) -> None:
        self.target = target
        self.tracer = tracer

    def enqueue_wrapper(self, broker: BaseBroker) -> None:
        """Wrap ``broker.enqueue``: a producer span per run, its context in the headers."""
        enqueue = broker.enqueue
        if getattr(enqueue, _WRAPPED, False):
            return
        kind = type(broker).__name__

        @functools.wraps(enqueue)
        def traced(envelopes: Iterable[Envelope], now: datetime | None = None) -> list[bool]:
            spans: list[Span] = []
            carried: list[Envelope] = []
            for envelope in envelopes:
                span = self.tracer.start_span(
                    f"send {envelope.queue}",
                    kind=SpanKind.PRODUCER,
                    attributes=_attributes(envelope, "send", kind),
                )
                headers = dict(envelope.headers)
                propagate.inject(headers, context=trace.set_span_in_context(span))
                carried.append(dataclasses.replace(envelope, headers=headers))
                spans.append(span)
            try:
                return enqueue(carried, now)
            except BaseException as exc:
                for span in spans:
                    _failed(span, exc)
                raise
            finally:
                for span in spans:
                    span.end()

        setattr(traced, _WRAPPED, True)
        broker.enqueue = traced  # type: ignore[method-assign]

    def run_event(self, event: RunEvent) -> None:
        """A worker's listener: a consumer span from RUN_STARTED to the attempt's end.

        Both are called in the task that supervises the run, before and after its attempt,
        so the span's context attached here is the one the attempt's task copies."""
        run = event.run
        if run is None:
            return
        if event.code == RUN_STARTED:
            parent = propagate.extract(dict(event.headers or {}))
            span = self.tracer.start_span(
                f"process {run.queue}",
                context=parent,
                kind=SpanKind.CONSUMER,
                attributes={
                    **_run_attributes(run.id, run.queue or "", run.name),
                    "messaging.operation.type": "process",
                    "asyncz_like.run.attempt": run.attempt,
                },
            )
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            _CURRENT.set((span, token))
            return
        current = _CURRENT.get()
        if current is None:
            return
        _CURRENT.set(None)
        span, token = current
        span.set_attribute("asyncz_like.run.status", _status(event))
        if event.code in (RUN_FAILED, RUN_TIMEOUT, RUN_RETRYING):
            if event.exception is not None:
                _failed(span, event.exception)
            else:
                span.set_status(Status(StatusCode.ERROR, _error_text(event)))
        span.end()
        otel_context.detach(token)

    def uninstrument(self) -> None:
        """Stop tracing (runs being traced end their spans as usual)."""
        target = self.target
        broker = target.broker
        if broker is not None and getattr(vars(broker).get("enqueue"), _WRAPPED, False):
            del broker.enqueue
        if isinstance(target, Worker):
            target.remove_listener(self.run_event)
        else:
            target.remove_worker_listener(self.run_event)


def instrument(target: BaseScheduler | Worker, tracer_provider: Any = None) -> Tracing:
    """Trace the runs a scheduler enqueues on its broker and those its worker runs, or those a
    :class:`~asyncz_like.workers.Worker` runs (and enqueues: its broker is traced too).

    ``tracer_provider``: an OpenTelemetry TracerProvider (the global one when None). The trace
    context is carried by the global propagator (W3C ``traceparent`` unless configured). Call
    it before ``start()`` for a scheduler's worker to be traced from its first run.
    """
    if not isinstance(target, BaseScheduler | Worker):
        raise TypeError(f"target must be a scheduler or a Worker, got {target!r}")
    tracer = trace.get_tracer("asyncz_like", tracer_provider=tracer_provider)
    tracing = Tracing(target, tracer)
    broker = target.broker
    if broker is not None:
        tracing.enqueue_wrapper(broker)
    add: Callable[[Any, int], None] = (
        target.add_listener if isinstance(target, Worker) else target.add_worker_listener
    )
    add(tracing.run_event, _MASK)
    return tracing


def _run_attributes(run_id: str, queue: str, name: str | None) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.destination.name": queue,
        "messaging.message.id": run_id,
    }
    if name is not None:
        attributes["asyncz_like.run.name"] = name
    return attributes


def _attributes(envelope: Envelope, operation: str, broker: str) -> dict[str, Any]:
    return {
        **_run_attributes(envelope.run_id, envelope.queue, envelope.name or envelope.target),
        "messaging.operation.type": operation,
        "messaging.operation.name": "enqueue",
        "asyncz_like.broker": broker,
    }


def _status(event: RunEvent) -> str:
    if event.code == RUN_RETRYING:
        return RunStatus.RETRYING.value
    run = event.run
    return run.status.value if run is not None else ""


def _error_text(event: RunEvent) -> str:
    error = event.run.error if event.run is not None else None
    return f"{error.type}: {error.message}" if error is not None else _status(event)


def _failed(span: Span, exc: BaseException) -> None:
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"))
