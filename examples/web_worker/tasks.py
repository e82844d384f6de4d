"""The work of the web/worker example: plain module-level functions, imported by reference
(``examples.web_worker.tasks:make_thumbnail``) in the worker process that runs them."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from asyncz_like.runs import update_progress

#: Seconds per step of the work; the end-to-end test makes it shorter.
SECONDS_PER_STEP = float(os.environ.get("THUMBNAIL_SECONDS_PER_STEP", "0.2"))


async def make_thumbnail(photo: str, size: int, steps: int = 5) -> dict[str, Any]:
    """Stands for a slow image job: ``steps`` steps, each reported as progress."""
    for step in range(1, steps + 1):
        await asyncio.sleep(SECONDS_PER_STEP)
        update_progress(100 * step / steps, f"{photo}: step {step}/{steps}")
    return {"photo": photo, "thumbnail": f"{photo}.{size}px.jpg", "worker_pid": os.getpid()}
