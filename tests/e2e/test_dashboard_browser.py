"""The dashboard in a real browser: Debian's chromium driven by Playwright (never a downloaded
browser), against a real scheduler loop served by uvicorn. These sleep (a little): they watch a
live page change.

``ASYNCZ_LIKE_SCREENSHOTS=docs/_static`` also saves a screenshot of each page there."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher, profiles

from asyncz_like.dashboard import create_dashboard
from asyncz_like.runs import update_progress
from asyncz_like.schedulers import BackgroundScheduler
from asyncz_like.stores.file import FileStore

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "correct horse battery"
TICKS: list[float] = []


def tick() -> None:
    TICKS.append(time.monotonic())


def slow_export(steps: int, seconds: float) -> str:
    for step in range(1, steps + 1):
        time.sleep(seconds)
        update_progress(100 * step / steps, f"{step}/{steps} files")
    return f"{steps} files"


def flaky() -> None:
    raise RuntimeError("the mail server said no")


def _users() -> list[str]:
    cheap = PasswordHasher.from_parameters(profiles.CHEAPEST)  # the users file format, fast
    return [f"olga:operator:{cheap.hash(PASSWORD)}", f"vera:viewer:{cheap.hash(PASSWORD)}"]


def _require_chromium() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        message = f"{CHROMIUM} is missing: apt-get install -y chromium (make test does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundScheduler]:
    files = FileStore(directory=str(tmp_path_factory.mktemp("tasks")))
    started = BackgroundScheduler(timezone="UTC", stores={"default": {"type": "memory"}})
    started.add_store(files, "files")
    started.start()
    started.add_task(tick, "interval", seconds=0.2, id="tick", name="tick")
    started.add_task(flaky, "interval", seconds=1, id="send-mail", name="send mail")
    started.add_task(tick, "cron", hour=8, minute=30, day_of_week="mon-fri", id="daily-report")
    started.add_task(tick, "interval", hours=1, id="kept", store="files")
    files.path_for("old-import").write_bytes(b"J1{this record was cut short")
    started.get_tasks()  # the file store reads it and finds the record broken
    yield started
    started.shutdown(wait=False)


@pytest.fixture(scope="module")
def base_url(scheduler: BackgroundScheduler) -> Iterator[str]:
    import uvicorn

    app = create_dashboard(scheduler, _users(), secret_key="k" * 32)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@pytest.fixture
def login(browser: Any, base_url: str) -> Iterator[Callable[[str], Any]]:
    contexts: list[Any] = []

    def log_in(name: str) -> Any:
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        contexts.append(context)
        page = context.new_page()
        page.goto(base_url + "/")
        assert page.locator("h1").inner_text() == "Log in"
        _screenshot(page, "login")
        page.fill("input[name=username]", name)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base_url + "/")
        return page

    yield log_in
    for context in contexts:
        context.close()


def _wait(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _screenshot(page: Any, name: str) -> None:
    folder = os.environ.get("ASYNCZ_LIKE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"dashboard-{name}.png"))


def test_an_operator_pauses_a_task_and_it_stops_firing(
    login: Callable[[str], Any], base_url: str
) -> None:
    page = login("olga")
    _wait(lambda: len(TICKS) >= 3)
    page.goto(base_url + "/tasks")
    row = page.locator('tr[data-task="tick"]')
    assert "every 0.2 seconds" in row.inner_text()
    row.get_by_role("button", name="Pause").click()
    page.wait_for_url(base_url + "/tasks")
    assert "Task tick paused." in page.locator(".flash").inner_text()
    assert "paused" in page.locator('tr[data-task="tick"]').inner_text()
    paused_at = len(TICKS)
    time.sleep(1.0)  # five periods of the task
    assert len(TICKS) <= paused_at + 2  # at most fires already handed over
    settled = len(TICKS)
    time.sleep(0.6)
    assert len(TICKS) == settled
    _screenshot(page, "tasks")
    page.locator('tr[data-task="tick"]').get_by_role("button", name="Resume").click()
    _wait(lambda: len(TICKS) > settled + 2)


def test_submitted_work_moves_its_progress_bar_live(
    login: Callable[[str], Any], base_url: str, scheduler: BackgroundScheduler
) -> None:
    page = login("olga")
    page.goto(base_url + "/runs")
    run = scheduler.submit(slow_export, 16, 0.25, name="export")
    bar = page.locator(f'tr[data-run="{run.id}"] progress')
    bar.wait_for(timeout=5000)  # the list updated itself: no reload
    seen: list[float] = []
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and (not seen or seen[-1] < 100):
        if bar.count():
            seen.append(float(bar.get_attribute("value") or 0))
            if len(seen) == 8 and os.environ.get("ASYNCZ_LIKE_SCREENSHOTS"):
                # only for the docs' picture: the list replaces its rows every second, so the
                # row may be detached mid-scroll (a flake when it ran in every test run)
                bar.scroll_into_view_if_needed()
                _screenshot(page, "runs")  # the export halfway
        time.sleep(0.2)
    assert len({value for value in seen if 0 < value < 100}) >= 2, seen  # it moved
    assert seen == sorted(seen) and seen[-1] == 100.0
    page.locator(f'tr[data-run="{run.id}"] .status.completed').wait_for(timeout=5000)
    _wait(lambda: scheduler.list_runs(task_id="send-mail", limit=1) != [])
    page.goto(base_url + "/")
    _screenshot(page, "overview")
    page.goto(base_url + "/queues")
    _screenshot(page, "queues")
    page.goto(base_url + "/broken")
    assert "old-import" in page.locator('tr[data-broken="old-import"]').inner_text()
    _screenshot(page, "broken")
    failed = scheduler.list_runs(task_id="send-mail", limit=1)[0]
    page.goto(f"{base_url}/runs/{failed.id}")
    assert "RuntimeError" in page.locator(".traceback").inner_text()
    _screenshot(page, "run")


def test_a_viewer_is_refused_a_change(
    login: Callable[[str], Any], base_url: str, scheduler: BackgroundScheduler
) -> None:
    page = login("vera")
    page.goto(base_url + "/tasks")
    assert page.locator('tr[data-task="daily-report"]').count() == 1
    assert page.get_by_role("button", name="Pause").count() == 0  # no buttons to press
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    status = page.evaluate(
        """async ([url, token]) => {
            const body = new URLSearchParams({csrf_token: token, task_id: "daily-report"});
            const response = await fetch(url, {method: "POST", body});
            return response.status;
        }""",
        [base_url + "/tasks/pause", token],
    )
    assert status == 403  # the server refuses, whatever the page shows
    task = scheduler.get_task("daily-report")
    assert task is not None and task.next_run_time is not None
    page.goto(base_url + "/tasks/remove?task_id=daily-report")
    assert page.locator("h1").inner_text() == "Not allowed"
    assert "Viewers may look, not change" in page.locator("main").inner_text()
