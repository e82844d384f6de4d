"""A broker outage under running workers: three ``asyncz-like worker`` processes reach the
broker (PostgreSQL, Redis, or RabbitMQ and its Redis state) through TCP proxies
(tests/proxy.py) that the test cuts for 10 s, resetting every connection or moving no byte
(calls hang), while a submitting process (the test, straight to the server) keeps enqueuing.
The workers must log the outage, retry, and resume: every run ends COMPLETED once, none fails,
and none runs twice (no worker died, and the 30 s lease outlasts the outage). The real
servers are never touched."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from asyncz_like.schedulers import BackgroundScheduler
from tests.brokers.backends import BrokerBackend, made_backend
from tests.e2e.test_store_outage import _through
from tests.faults.cli_workers import CliWorkers, queue_stats, read_runs, wait_for
from tests.faults.run_book import RunBook, noop, read_book
from tests.proxy import TcpProxy

pytestmark = [pytest.mark.faults, pytest.mark.e2e, pytest.mark.service, pytest.mark.timeout(120)]

WORKERS, CONCURRENCY = 3, 10
#: A batch of BATCH runs every SUBMIT_EVERY seconds for SUBMITTING seconds; the cut starts
#: CUT_AT seconds in and lasts OUTAGE seconds; then the workers have DRAIN seconds to finish.
BATCH, SUBMIT_EVERY, SUBMITTING = 10, 0.25, 20.0
CUT_AT, OUTAGE, DRAIN = 4.0, 10.0, 40.0
RUN_SECONDS = 0.3
QUEUE = "outage"


@pytest.fixture(params=["postgresql", "redis", "rabbitmq"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BrokerBackend]:
    with made_backend(request.param, tmp_path) as made:
        yield made


def _redis_through(config: dict[str, Any], proxies: list[TcpProxy]) -> dict[str, Any]:
    proxy = TcpProxy(config["host"], config["port"])
    proxies.append(proxy)
    return {**config, "host": "127.0.0.1", "port": proxy.port}


def _proxied(backend: BrokerBackend, proxies: list[TcpProxy]) -> dict[str, Any]:
    """The workers' broker config, every connection of it through a proxy (in ``proxies``)."""
    config = backend.config(poll_interval=0.5)
    if backend.name == "redis":
        return _redis_through(config, proxies)
    if backend.name == "rabbitmq":
        url = urlsplit(config["url"])
        proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5672)
        proxies.append(proxy)
        state = _redis_through(config["state"], proxies)
        return {**config, "url": _through(config["url"], proxy.port), "state": state}
    url = urlsplit(config["database"])
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    proxies.append(proxy)
    return {**config, "database": _through(config["database"], proxy.port)}


def _cut(proxies: list[TcpProxy], mode: str) -> None:
    """``reset``: every connection closed, new ones refused; ``blackhole``: no byte moves
    (calls hang) until the end of the cut."""
    for proxy in proxies:
        if mode == "reset":
            proxy.stop()
        else:
            proxy.blackhole()


def _restore(proxies: list[TcpProxy], mode: str) -> None:
    for proxy in proxies:
        if mode == "reset":
            proxy.start()
        else:
            proxy.flow()


@pytest.mark.parametrize("mode", ["reset", "blackhole"])
def test_a_10_s_outage_loses_no_run_and_repeats_none(
    backend: BrokerBackend, mode: str, tmp_path: Path
) -> None:
    began = time.monotonic()
    broker = backend.make()  # the server is there (CI=true: fails rather than skips)
    book = tmp_path / "book"
    book.mkdir()
    proxies: list[TcpProxy] = []
    config = _proxied(backend, proxies)
    for proxy in proxies:
        proxy.start()
    workers = CliWorkers(config, QUEUE, tmp_path, "--concurrency", str(CONCURRENCY),
                         "--interval", "0.5", "--grace", "5")  # fmt: skip
    web = BackgroundScheduler(broker=backend.config(), worker=False)
    run_ids: list[str] = []
    done_before_cut = 0
    try:
        for _ in range(WORKERS):
            workers.start()
        web.start()
        assert wait_for(lambda: all(workers.up(p) for p in workers.alive), 30, 0.1)
        begun = time.monotonic()
        phase = "before"  # the cut, then "during", then "after"
        while (now := time.monotonic() - begun) < SUBMITTING:
            if phase == "before" and now >= CUT_AT:
                done_before_cut = queue_stats(broker, QUEUE).completed
                _cut(proxies, mode)
                phase = "during"
            elif phase == "during" and now >= CUT_AT + OUTAGE:
                _restore(proxies, mode)
                phase = "after"
            items = [(noop, (str(book), RUN_SECONDS)) for _ in range(BATCH)]
            run_ids += [run.id for run in web.submit_many(items, queue=QUEUE)]
            time.sleep(max(0.0, SUBMIT_EVERY * len(run_ids) / BATCH - (time.monotonic() - begun)))
        wait_for(lambda: queue_stats(broker, QUEUE).completed >= len(run_ids), DRAIN)
    finally:
        web.shutdown()
        codes = workers.close()
        for proxy in proxies:
            proxy.stop()
    starts, ends = read_book(book)
    result = RunBook(
        f"{backend.name}: {WORKERS} workers x {CONCURRENCY}, broker cut {OUTAGE:g} s ({mode})",
        run_ids, read_runs(broker, QUEUE, run_ids), starts, ends, set(),
        time.monotonic() - began,
    )  # fmt: skip
    logs = workers.log_text(tail=10**7)
    resent = logs.count("Recorded the end of run")
    print(f"  {done_before_cut} runs done before the cut; {resent} ends sent again after it")
    if result.missing or result.unexplained:
        print(logs[-6000:])
    result.check()
    assert codes == [0] * WORKERS, f"the workers exited with {codes}"
    assert done_before_cut > 0, "no run went through before the cut"
    assert "WARNING" in logs or "ERROR" in logs, "the outage left no trace in the worker logs"
