"""Log lines that both the in-process engine and a broker's worker write."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from asyncz_like.runs.run import Run, RunError


def log_retrying(
    logger: logging.Logger, run: Run, error: RunError, retry_at: datetime, extra: dict[str, Any]
) -> None:
    """Warn that an attempt of ``run`` raised ``error`` and the run waits until ``retry_at``."""
    logger.warning(
        "Run %s (%s) attempt %d raised %s: %s; retrying at %s",
        run.id,
        run.name,
        run.attempt,
        error.type,
        error.message,
        retry_at.isoformat(),
        extra=extra,
    )
