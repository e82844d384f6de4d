"""The resident memory of this process, for :meth:`stats`."""

from __future__ import annotations

import os
import sys

_STATM = "/proc/self/statm"


def process_rss() -> int | None:
    """Bytes of this process's resident memory now (Linux), else its peak resident memory
    (other Unix systems); None where neither can be read."""
    try:
        with open(_STATM, "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere
