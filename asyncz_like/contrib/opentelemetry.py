"""OpenTelemetry traces of runs (extra ``otel``: opentelemetry-api).

Through a broker: a PRODUCER span per enqueued run, whose context travels in the run's
``headers`` (W3C trace context, or the global propagator's format); a CONSUMER span per
attempt in the worker that runs it, a child of that context, current while the function runs
(so its own spans nest under it, in a coroutine or a thread). Attributes follow
OpenTelemetry's messaging conventions. In a scheduler's own process (fires run by its
executors, submitted runs without a broker): an INTERNAL span per attempt, from its start to
its end. See docs/observability.md.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import weakref
from collections.abc import Iterable
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
from asyncz_like.runs.run import Run
from asyncz_like.runs.status import RunStatus
from asyncz_like.schedulers.base import BaseScheduler
from asyncz_like.workers.worker import Worker

__all__ = ["GIVEN_BACK", "LEASE_LOST", "MESSAGING_SYSTEM", "Tracing", "instrument"]

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
#: ``asyncz_like.run.status`` of a consumer span whose attempt ended without an outcome: the
#: worker gave the run back to its queue at a stop, or lost its lease (another worker may
#: hold the run; the outcome was dropped).
GIVEN_BACK, LEASE_LOST = "given_back", "lease_lost"
#: The tracing of each target: one at a time (a second would make each span twice).
_INSTRUMENTED: weakref.WeakKeyDictionary[Any, Tracing] = weakref.WeakKeyDictionary()


class Tracing:
    """What :func:`instrument` set up; :meth:`uninstrument` undoes it."""

    def __init__(
        self,
        target: BaseScheduler | Worker,
        tracer: Any,
        options: tuple[Any, ...] = (),
    ) -> None:
        self.target = target
        self.tracer = tracer
        self.options = options  # what instrument() was given, to compare a second call's
        #: The spans of the attempts running in the scheduler's process, by run id.
        self.local: dict[str, Span] = {}

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
                    **_run_attributes(run.id, run.queue or "", run.name, run.task_id),
                    "messaging.operation.type": "process",
                    "asyncz_like.run.attempt": run.attempt,
                },
            )
            token = otel_context.attach(trace.set_span_in_context(span, parent))
            _CURRENT.set((span, token))
            _end_with_task(span, run)
            return
        current = _CURRENT.get()
        if current is None:
            return
        _CURRENT.set(None)
        span, token = current
        _ended(span, event)
        otel_context.detach(token)

    def local_run_event(self, event: RunEvent) -> None:
        """A scheduler's listener: a span per attempt it runs itself (a fire on an executor,
        a submitted run without a broker), from RUN_STARTED to the attempt's end.

        Not current while the function runs: a fire's start is told outside the context its
        function runs in, so its function's own spans are not its children."""
        run = event.run
        if run is None or run.queue is not None:  # its worker's run: a consumer span has it
            return
        if event.code == RUN_STARTED:
            span = self.tracer.start_span(
                f"run {run.name}",
                context=_ROOT,
                kind=SpanKind.INTERNAL,
                attributes=_local_attributes(run),
            )
            self.local[run.id] = span  # a dict's set and pop are atomic: no lock
            return
        started = self.local.pop(run.id, None)
        if started is not None:
            _ended(started, event)

    def uninstrument(self) -> None:
        """Stop tracing (a second call does nothing). A worker's runs being traced end their
        spans as usual; the spans of attempts running in the scheduler's process end now."""
        target = self.target
        if _INSTRUMENTED.get(target) is not self:
            return
        del _INSTRUMENTED[target]
        broker = target.broker
        if broker is not None and getattr(vars(broker).get("enqueue"), _WRAPPED, False):
            del broker.enqueue
        if isinstance(target, Worker):
            target.remove_listener(self.run_event)
            return
        target.remove_worker_listener(self.run_event)
        if self.options[1]:
            target.remove_listener(self.local_run_event)
            while self.local:  # their ends will not be heard of: end them now
                self.local.popitem()[1].end()


def instrument(
    target: BaseScheduler | Worker, tracer_provider: Any = None, *, in_process: bool = False
) -> Tracing:
    """Trace the runs a scheduler enqueues on its broker, those its worker runs and (with
    ``in_process=True``, off by default: a span per fire costs a burst of no-op fires about
    3x its instructions) the fires and runs it runs itself; or those a
    :class:`~asyncz_like.workers.Worker` runs (and enqueues: its broker is traced too).

    ``tracer_provider``: an OpenTelemetry TracerProvider (the global one when None). The trace
    context is carried by the global propagator (W3C ``traceparent`` unless configured). Call
    it before ``start()`` for a scheduler's worker to be traced from its first run.

    Instrumenting a target again with the same arguments returns the :class:`Tracing`
    already made; with others it raises ValueError (``uninstrument()`` first).
    """
    if not isinstance(target, BaseScheduler | Worker):
        raise TypeError(f"target must be a scheduler or a Worker, got {target!r}")
    if not isinstance(in_process, bool):
        raise TypeError(f"in_process must be True or False, got {in_process!r}")
    options = (tracer_provider, in_process and not isinstance(target, Worker))
    existing = _INSTRUMENTED.get(target)
    if existing is not None:
        if existing.options != options:
            raise ValueError(
                f"{target!r} is traced already with another tracer_provider or in_process: "
                "call uninstrument() on its Tracing first"
            )
        return existing
    tracer = trace.get_tracer("asyncz_like", tracer_provider=tracer_provider)
    tracing = _INSTRUMENTED[target] = Tracing(target, tracer, options)
    broker = target.broker
    if broker is not None:
        tracing.enqueue_wrapper(broker)
    if isinstance(target, Worker):
        target.add_listener(tracing.run_event, _MASK)
        return tracing
    target.add_worker_listener(tracing.run_event, _MASK)
    if options[1]:
        target.add_listener(tracing.local_run_event, _MASK)
    return tracing


#: The parent of an in-process run's span: none (whatever is current where its start is told
#: is no parent of it).
_ROOT = Context()


def _end_with_task(span: Span, run: Run) -> None:
    """End ``span`` when the task that supervises the run ends, if no outcome ended it first:
    the run was given back, or its lease lost."""
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no event loop: a worker supervises its runs in tasks
        return
    if task is not None:
        task.add_done_callback(lambda _: _unfinished(span, run))


def _unfinished(span: Span, run: Run) -> None:
    if not span.is_recording():
        return
    if run.status is RunStatus.PENDING:
        span.set_attribute("asyncz_like.run.status", GIVEN_BACK)
    else:
        span.set_attribute("asyncz_like.run.status", LEASE_LOST)
        span.set_status(Status(StatusCode.ERROR, "lease lost: the outcome was dropped"))
    span.end()


def _ended(span: Span, event: RunEvent) -> None:
    span.set_attribute("asyncz_like.run.status", _status(event))
    if event.code in (RUN_FAILED, RUN_TIMEOUT, RUN_RETRYING):
        if event.exception is not None:
            _failed(span, event.exception)
        else:
            span.set_status(Status(StatusCode.ERROR, _error_text(event)))
    span.end()


def _local_attributes(run: Run) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "asyncz_like.run.id": run.id,
        "asyncz_like.run.attempt": run.attempt,
    }
    if run.name is not None:
        attributes["asyncz_like.run.name"] = run.name
    if run.task_id is not None:
        attributes["asyncz_like.task.id"] = run.task_id
    return attributes


def _run_attributes(
    run_id: str, queue: str, name: str | None, task_id: str | None
) -> dict[str, Any]:
    attributes: dict[str, Any] = {
        "messaging.system": MESSAGING_SYSTEM,
        "messaging.destination.name": queue,
        "messaging.message.id": run_id,
        "asyncz_like.run.id": run_id,
    }
    if name is not None:
        attributes["asyncz_like.run.name"] = name
    if task_id is not None:
        attributes["asyncz_like.task.id"] = task_id
    return attributes


def _attributes(envelope: Envelope, operation: str, broker: str) -> dict[str, Any]:
    name = envelope.name or envelope.target
    return {
        **_run_attributes(envelope.run_id, envelope.queue, name, envelope.task_id),
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
