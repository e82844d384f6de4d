"""The pages show the scheduler's state, and an operator's changes reach the scheduler."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette

from asyncz_like.brokers import MemoryBroker, WorkerInfo
from asyncz_like.dashboard import create_dashboard
from asyncz_like.runs import RunError, RunStatus, update_progress
from asyncz_like.stores.file import FileStore
from tests.helpers import FakeClock, ManualScheduler, manual_scheduler, noop
from tests.unit.dashboard.helpers import logged_in, post, users


def crash() -> None:
    raise ZeroDivisionError("no rows to divide by")


def halfway() -> str:
    update_progress(50, "half done")
    return "done"


def test_tasks_show_trigger_in_words_next_fire_and_last_outcome(
    app: Starlette, scheduler: ManualScheduler, clock: FakeClock
) -> None:
    scheduler.add_task(noop, "interval", minutes=5, id="poll")
    scheduler.add_task(crash, "cron", hour=8, minute=30, day_of_week="mon-fri", id="report")
    scheduler.add_task(crash, "interval", seconds=10, id="flaky")
    clock.advance(10)
    scheduler.process_tasks()
    page = logged_in(app, "vera").get("/tasks").text
    assert "every 5 minutes" in page and "at 08:30 on mon-fri" in page
    assert "ZeroDivisionError: no rows to divide by" in page  # flaky's last outcome
    assert "Pause" not in page  # a viewer gets no buttons


def test_an_operator_pauses_resumes_runs_and_removes_a_task(
    app: Starlette, scheduler: ManualScheduler, clock: FakeClock
) -> None:
    calls: list[int] = []
    scheduler.add_task(calls.append, "interval", seconds=10, args=[1], id="tick")
    client = logged_in(app, "olga")
    assert post(client, "/tasks/pause", task_id="tick").status_code == 303
    assert scheduler.get_task("tick").next_run_time is None  # type: ignore[union-attr]
    clock.advance(20)
    scheduler.process_tasks()
    assert calls == []  # paused: no fire
    assert "Task tick paused." in client.get("/tasks").text
    post(client, "/tasks/resume", task_id="tick")
    resumed = scheduler.get_task("tick").next_run_time  # type: ignore[union-attr]
    assert resumed is not None and resumed >= clock.now()
    post(client, "/tasks/run", task_id="tick")
    assert calls == [1]  # run now, on the debug executor: at once
    assert scheduler.get_task("tick").next_run_time == resumed  # type: ignore[union-attr]
    confirm = client.get("/tasks/remove", params={"task_id": "tick", "store": "default"})
    assert confirm.status_code == 200 and "remove the task &#39;tick&#39;" in confirm.text
    assert scheduler.get_task("tick") is not None  # asking is not removing
    post(client, "/tasks/remove", task_id="tick", store="default")
    assert scheduler.get_task("tick") is None
    assert post(client, "/tasks/pause", task_id="tick").status_code == 404
    assert post(client, "/tasks/pause").status_code == 400


def test_runs_show_progress_result_and_error_with_traceback(
    app: Starlette, scheduler: ManualScheduler
) -> None:
    ok = scheduler.submit(halfway, name="report")
    bad = scheduler.submit(crash)
    waiting = scheduler.submit(noop, delay=60)
    scheduler.process_tasks()
    client = logged_in(app, "vera")
    page = client.get("/runs").text
    assert '<progress max="100" value="100.0">' in page and "half done" in page
    assert "ZeroDivisionError: no rows to divide by" in page and waiting.id in page
    detail = client.get(f"/runs/{bad.id}").text
    assert "Traceback (most recent call last)" in detail and "crash" in detail
    assert "done" in client.get(f"/runs/{ok.id}").text
    assert ok.id not in client.get("/runs", params={"status": "failed"}).text
    assert client.get("/runs", params={"status": "lost"}).status_code == 400
    assert client.get("/runs/no-such-run").status_code == 404
    fragment = client.get("/runs", params={"fragment": "1"}).text
    assert fragment.lstrip().startswith("<table>") and "<html" not in fragment


def test_an_operator_cancels_a_waiting_run(app: Starlette, scheduler: ManualScheduler) -> None:
    waiting = scheduler.submit(noop, delay=60)
    client = logged_in(app, "olga")
    assert post(client, "/runs/cancel", run_id=waiting.id).status_code == 303
    assert waiting.status is RunStatus.CANCELLED
    again = post(client, "/runs/cancel", run_id=waiting.id)
    assert "was not cancelled" in client.get(again.headers["location"]).text


def test_without_a_broker_a_fired_run_offers_its_task_not_a_retry(
    app: Starlette, scheduler: ManualScheduler, clock: FakeClock
) -> None:
    scheduler.add_task(crash, "interval", seconds=10, id="flaky")
    clock.advance(10)
    scheduler.process_tasks()
    failed = scheduler.list_runs(task_id="flaky")[0]
    client = logged_in(app, "olga")
    assert "/runs/retry" not in client.get("/runs").text  # nothing to retry from
    detail = client.get(f"/runs/{failed.id}").text
    assert "Run its task now" in detail and "/runs/retry" not in detail
    refused = post(client, "/runs/retry", run_id=failed.id)
    assert refused.status_code == 409 and "needs a broker" in refused.text


def test_an_operator_retries_a_failed_run_through_the_broker(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, broker={"type": "memory"}, worker=False)
    scheduler.start()
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    broker = scheduler.broker
    assert broker is not None
    failed = scheduler.submit(crash, queue="mail", priority=3)
    (delivery,) = broker.claim("w", ["mail"], 1, clock.now())
    broker.fail(failed.id, delivery.token, RunError("ZeroDivisionError", "no rows"), clock.now())
    waiting = scheduler.submit(noop)
    viewer, operator = logged_in(app, "vera"), logged_in(app, "olga")
    assert "/runs/retry" not in viewer.get("/runs").text
    assert post(viewer, "/runs/retry", run_id=failed.id).status_code == 403
    page = operator.get("/runs").text
    row = page[page.index(f'<tr data-run="{failed.id}">') :]
    assert "/runs/retry" in row[: row.index("</tr>")]
    assert post(operator, "/runs/retry", run_id=waiting.id).status_code == 409
    done = post(operator, "/runs/retry", run_id=failed.id)
    assert done.status_code == 303
    (again,) = [run for run in scheduler.list_runs() if run.id not in (failed.id, waiting.id)]
    assert (again.status, again.queue, again.priority) == (RunStatus.PENDING, "mail", 3)
    assert scheduler.get_run(failed.id).status is RunStatus.FAILED  # type: ignore[union-attr]
    assert f"retried as {again.id}" in operator.get(done.headers["location"]).text
    detail = operator.get(f"/runs/{again.id}").text
    assert "Retry of" in detail and f"/runs/{failed.id}" in detail
    assert post(operator, "/runs/retry", run_id="no-such-run").status_code == 404
    assert post(operator, "/runs/retry").status_code == 400
    scheduler.shutdown()


class ForgettingBroker(MemoryBroker):
    """Drops the call of a run that ended, as the Redis broker does."""

    keeps_ended_calls = False


def test_no_retry_button_when_the_broker_drops_ended_calls(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, broker=ForgettingBroker(), worker=False)
    scheduler.start()
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    run = scheduler.submit(noop)
    assert scheduler.cancel_run(run.id)
    client = logged_in(app, "olga")
    assert run.id in client.get("/runs").text and "/runs/retry" not in client.get("/runs").text
    assert "/runs/retry" not in client.get(f"/runs/{run.id}").text
    scheduler.shutdown()


def test_queues_page_without_a_broker_shows_the_lanes_and_running_runs(
    app: Starlette, scheduler: ManualScheduler
) -> None:
    scheduler.submit(crash)
    scheduler.process_tasks()
    page = logged_in(app, "vera").get("/queues").text
    assert "In-process queue" in page and "Nothing runs now." in page
    assert "ZeroDivisionError" in page  # among the latest failed runs
    assert "Worker lanes of this process" in page and "Workers (" not in page


def test_queues_page_with_the_memory_broker_shows_each_queue(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, broker={"type": "memory"})
    scheduler.start()
    scheduler.submit(noop, queue="mail", priority=10)
    scheduler.submit(noop, queue="mail")
    scheduler.submit(noop, queue="reports", delay=60)
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    page = logged_in(app, "vera").get("/queues").text
    assert "Broker queues" in page
    assert '<tr data-queue="mail"><td>mail</td>\n<td>10: 1, 0: 1</td>' in page
    assert '<tr data-queue="reports"><td>reports</td>\n<td>0</td>\n<td>1</td>' in page
    scheduler.shutdown()


def test_queues_page_lists_the_workers_the_broker_knows(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, broker={"type": "memory"}, worker=False)
    scheduler.start()
    broker = scheduler.broker
    assert broker is not None
    now = clock.now()
    for worker_id, host, seen, busy in [
        ("w-gone", "a", now - timedelta(seconds=40), 1),
        ("w-busy", "b", now - timedelta(seconds=3), 7),
    ]:
        info = WorkerInfo(worker_id, host, 42, ("mail", "reports"), 10, now, seen, busy,
                          version="9.9")  # fmt: skip
        broker.register_worker(info, seen)
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    page = logged_in(app, "vera").get("/queues").text
    scheduler.shutdown()
    assert "Workers (1 alive, 1 gone)" in page
    assert page.index('data-worker="w-busy"') < page.index('data-worker="w-gone"')
    busy = page[page.index('data-worker="w-busy"') :].split("</tr>")[0]
    cells = [cell.split(">", 1)[-1] for cell in busy.split("</td>")]
    assert [cells[1].split(">")[1].split("<")[0], *cells[2:7]] == [
        "alive", "b", "42", "mail, reports", "7/10", "3 s ago"]  # fmt: skip
    gone = page[page.index('data-worker="w-gone"') :].split("</tr>")[0]
    assert '<span class="status gone">gone</span>' in gone and "40 s ago" in gone


def test_queues_page_of_a_broker_without_workers_says_so(clock: FakeClock) -> None:
    scheduler = manual_scheduler(clock, broker={"type": "memory"}, worker=False)
    scheduler.start()
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    page = logged_in(app, "vera").get("/queues").text
    scheduler.shutdown()
    assert "Workers (0 alive, 0 gone)" in page and "No worker has registered" in page


def test_a_broken_record_is_shown_and_deleted_only_when_confirmed(
    tmp_path: Path, clock: FakeClock
) -> None:
    store = FileStore(directory=str(tmp_path))
    scheduler = manual_scheduler(clock, stores={"default": store})
    scheduler.start()
    scheduler.add_task(noop, "interval", seconds=10, id="good")
    store.path_for("bad").write_bytes(b"J1{not json")
    scheduler.get_tasks()
    app = create_dashboard(scheduler, users(), secret_key="s" * 32)
    client = logged_in(app, "olga")
    assert 'data-broken="bad"' in client.get("/broken").text
    confirm = client.get("/broken/delete", params={"store": "default", "task_id": "bad"})
    assert "Type <code>bad</code> to confirm" in confirm.text
    refused = post(client, "/broken/delete", store="default", task_id="bad", confirm="bda")
    assert refused.status_code == 400
    assert "bad" in scheduler.get_broken_records()["default"]
    assert (
        post(client, "/broken/delete", store="default", task_id="good", confirm="good").status_code
        == 404
    )
    done = post(client, "/broken/delete", store="default", task_id="bad", confirm="bad")
    assert done.status_code == 303
    assert scheduler.get_broken_records() == {} and scheduler.get_task("good") is not None
    scheduler.shutdown()


def test_overview_draws_the_last_hour(
    app: Starlette, scheduler: ManualScheduler, clock: FakeClock
) -> None:
    scheduler.add_task(noop, "interval", seconds=10, id="tick")
    for _ in range(12):
        clock.advance(10)
        scheduler.process_tasks()
    page = logged_in(app, "vera").get("/").text
    assert page.count('<svg class="chart"') == 4
    assert "Fires and runs per minute" in page and "<polyline" in page
    assert "<dt>Fires, last hour</dt><dd>12</dd>" in page


def test_names_are_escaped(app: Starlette, scheduler: ManualScheduler) -> None:
    scheduler.add_task(noop, "interval", seconds=10, id="x", name="<script>alert(1)</script>")
    page = logged_in(app, "vera").get("/tasks").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_scheduler_is_called_off_the_event_loop(
    app: Starlette, scheduler: ManualScheduler, monkeypatch: pytest.MonkeyPatch
) -> None:
    loops: list[bool] = []
    get_tasks = scheduler.get_tasks

    def watched(store: str | None = None) -> list[Any]:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:  # a worker thread: no loop runs here
            loops.append(False)
        return get_tasks(store)

    monkeypatch.setattr(scheduler, "get_tasks", watched)
    logged_in(app, "vera").get("/tasks")
    assert loops == [False]
