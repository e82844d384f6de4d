"""``asyncz-like``: look at and change the tasks of a store, run a scheduler or a worker.

    asyncz-like list --app myapp.jobs:scheduler          # or --store sqlite:///tasks.db
    asyncz-like inspect|preview|pause|resume|remove|run TASK_ID --app ...
    asyncz-like start --app myapp.jobs:scheduler         # until SIGTERM
    asyncz-like worker --broker postgresql+psycopg://... --queues a,b --import myapp.tasks
    asyncz-like runs --follow --broker ...

See docs/cli.md. Built on click, with rich for the tables.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]

#: What the command line needs beyond the package: the ``cli`` extra.
_EXTRA = ("click", "rich")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; the exit status (0 done, 1 failed, 2 bad usage)."""
    try:
        from asyncz_like.cli.commands import cli
    except ModuleNotFoundError as exc:
        if exc.name not in _EXTRA:
            raise
        print(f"asyncz-like needs {exc.name}: pip install 'asyncz_like[cli]'", file=sys.stderr)
        return 1
    try:
        cli.main(args=None if argv is None else list(argv), prog_name="asyncz-like")
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
