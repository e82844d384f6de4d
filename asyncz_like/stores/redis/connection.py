"""redis-py, imported lazily: the client a store uses, and retries of transient errors."""

from __future__ import annotations

import importlib
import inspect
import logging
import time
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from asyncz_like.exceptions import MissingDependencyError

if TYPE_CHECKING:
    from redis import Redis

T = TypeVar("T")

#: Options of ``redis.Redis`` that the store sets itself.
_OWN_OPTIONS = {"self", "host", "port", "db", "connection_pool"}


def import_module(name: str) -> ModuleType:
    """``name`` (redis, tenacity); MissingDependencyError naming the extra when absent."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise MissingDependencyError(name, "redis") from None


def split_client_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``options`` as (those ``redis.Redis`` takes, the others)."""
    redis = import_module("redis")
    known = set(inspect.signature(redis.Redis.__init__).parameters) - _OWN_OPTIONS
    taken = {name: value for name, value in options.items() if name in known}
    return taken, {name: value for name, value in options.items() if name not in known}


def build_client(
    host: str,
    port: int,
    database: int,
    url: str | None,
    client: Redis | None,
    options: dict[str, Any],
    who: str = "RedisStore",
) -> tuple[Redis, bool]:
    """The client to use, and whether ``who`` (the store, the broker) owns it (and so
    closes it on shutdown).

    A client the store builds does not retry by itself (``retry=Retry(NoBackoff(), 0)``
    unless ``retry`` is given), so that :func:`call_with_retries` is the one place that does.
    """
    redis = import_module("redis")
    if client is not None:
        if url is not None or options:
            raise TypeError(f"{who}: give client= alone, without url= or client options")
        if client.get_connection_kwargs().get("decode_responses"):
            raise ValueError(f"{who}: the client must not use decode_responses=True")
        return client, False
    if options.get("decode_responses"):
        raise ValueError(f"{who}: records are bytes; decode_responses=True is not supported")
    options = dict(options)
    if "retry" not in options:
        options["retry"] = redis.retry.Retry(redis.backoff.NoBackoff(), 0)
    if url is not None:
        return redis.Redis.from_url(url, **options), True
    return redis.Redis(host=host, port=port, db=database, **options), True


def transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth another try: the connection broke, timed out, or the server is loading."""
    exceptions = import_module("redis").exceptions
    return (exceptions.ConnectionError, exceptions.TimeoutError)


def call_with_retries(
    call: Callable[[int], T],
    attempts: int,
    first_wait: float,
    max_wait: float,
    logger: logging.Logger,
) -> T:
    """``call(attempt_number)``, tried again on a transient error with exponential backoff;
    the last error is raised after ``attempts`` tries. ``attempt_number`` starts at 1, so a
    call can tell a retry (whose earlier try may have gone through) from a first try.

    The first try runs outside tenacity, whose bookkeeping costs more than a Redis command's
    own Python work; only a failed call pays for it."""
    try:
        return call(1)
    except transient_errors() as error:
        if attempts <= 1:
            raise
        wait = min(first_wait, max_wait)
        _log_retry(logger, error, wait, 1, attempts)
    time.sleep(wait)
    tenacity = import_module("tenacity")

    def log_retry(state: Any) -> None:
        error = state.outcome.exception()
        _log_retry(logger, error, state.next_action.sleep, state.attempt_number + 1, attempts)

    retrying = tenacity.Retrying(  # the tries after the first, numbered from 2
        retry=tenacity.retry_if_exception_type(transient_errors()),
        stop=tenacity.stop_after_attempt(attempts - 1),
        wait=tenacity.wait_exponential(multiplier=2 * first_wait, max=max_wait),
        before_sleep=log_retry,
        reraise=True,
    )
    for attempt in retrying:
        with attempt:
            result = call(attempt.retry_state.attempt_number + 1)
    return result


def _log_retry(
    logger: logging.Logger, error: BaseException, wait: float, attempt: int, attempts: int
) -> None:
    logger.warning(
        "Redis call failed (%r); retrying in %.2f s (attempt %d of %d)",
        error,
        wait,
        attempt,
        attempts,
        extra={"attempt": attempt},
    )
