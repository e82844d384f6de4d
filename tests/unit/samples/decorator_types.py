"""Checked by mypy --strict in test_decorator_types.py, never run: the decorators keep the
decorated function's types. A line marked ``expect:`` and an error code must raise that error."""

from __future__ import annotations

from typing import assert_type

from asyncz_like.runs import Run
from asyncz_like.schedulers import AsyncIOScheduler, BackgroundScheduler

scheduler = AsyncIOScheduler()


@scheduler.background
def resize(path: str, width: int = 100) -> bytes:
    return path.encode() * width


@scheduler.background(priority=5, max_retries=2)
async def fetch(url: str) -> dict[str, int]:
    return {url: 1}


@scheduler.task(interval="30m")
def refresh(feed: str) -> list[str]:
    return [feed]


@BackgroundScheduler().task(cron="0 2 * * *")
async def backup(*, full: bool) -> int:
    return int(full)


assert_type(resize("a.png"), bytes)
assert_type(resize("a.png", width=10), bytes)
assert_type(resize.submit("a.png", priority=3), Run)
assert_type(fetch.delay("https://example.org"), Run)
assert_type(refresh("news"), list[str])


async def awaited() -> None:
    assert_type(await fetch("https://example.org"), dict[str, int])
    assert_type(await backup(full=True), int)
    await fetch()  # expect: call-arg
    await backup(True)  # expect: call-arg


resize(3)  # expect: arg-type
resize("a.png", height=3)  # expect: call-arg
refresh(1)  # expect: arg-type
whole: str = resize("a.png")  # expect: assignment
