"""The virtualenvs the benchmarks run in, made once under ``benchmarks/.venvs/``.

``LIBRARIES``: the schedulers of ``run.py``; ``QUEUE_ANCHORS``: the job queues of ``anchors.py``.
"""

from __future__ import annotations

import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
VENVS_DIR = BENCH_DIR / ".venvs"


@dataclass(frozen=True)
class Library:
    """A library under test: its adapter module, its table label and what pip installs."""

    name: str
    label: str
    requirements: tuple[str, ...]

    @property
    def venv_dir(self) -> Path:
        return VENVS_DIR / self.name

    @property
    def python(self) -> Path:
        return self.venv_dir / "bin" / "python"


#: The drivers of the persistent stores, at the same versions in every venv (hiredis: the C
#: parser redis-py takes when it is installed, as asyncz_like's redis extra installs it).
STORE_DRIVERS = (
    "sqlalchemy==2.1.9",
    "redis==8.1.0",
    "hiredis==3.5.0",
    "psycopg[binary]==3.3.9",
    "pymysql==1.2.4",
)

LIBRARIES: tuple[Library, ...] = (
    Library("asyncz_like", "asyncz_like", ("-e", f"{REPO_DIR}[all]", *STORE_DRIVERS)),
    Library("apscheduler3", "APS3", ("apscheduler==3.11.3", *STORE_DRIVERS)),
    Library("asyncz", "asyncz", ("asyncz==0.17.2", *STORE_DRIVERS)),
)

#: The job queues that ``anchors.py`` runs beside our brokers, each in a venv of its own.
QUEUE_ANCHORS: tuple[Library, ...] = (
    Library(
        "procrastinate", "procrastinate", ("procrastinate==3.10.0", "psycopg[binary,pool]==3.3.9")
    ),
    Library(
        "saq",
        "saq",
        (
            "saq[postgres,hiredis]==0.26.4",
            "redis==8.1.0",
            "hiredis==3.5.0",
            "psycopg[binary,pool]==3.3.9",
        ),
    ),
    Library("dramatiq", "dramatiq", ("dramatiq[rabbitmq]==2.2.1", "pika==1.4.4")),
)


def ensure_venv(library: Library) -> Path:
    """Create ``library``'s virtualenv unless one with the same requirements exists."""
    stamp = library.venv_dir / ".installed"
    wanted = " ".join(library.requirements)
    if stamp.exists() and stamp.read_text() == wanted and library.python.exists():
        return library.python
    print(f"[setup] creating {library.venv_dir} ({wanted})", file=sys.stderr, flush=True)
    venv.EnvBuilder(clear=True, with_pip=True).create(library.venv_dir)
    pip = [str(library.python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, *library.requirements], check=True)
    stamp.write_text(wanted)
    return library.python
