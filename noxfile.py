"""nox sessions for contributors: the Makefile's targets, each in a virtualenv of its own.

``make test`` stays the entry point of the README; ``nox`` runs lint, typecheck, tests and docs
(``nox -s bench`` on demand). Arguments after ``--`` go to the session's tool, e.g.
``nox -s tests -- tests/unit -x`` or ``nox -s bench -- --only burst``.
"""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests", "docs"]

SOURCES = ("asyncz_like", "tests", "examples", "benchmarks")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff's checks and formatting, and the import contracts of the layers, as ``make lint``."""
    session.install("ruff>=0.6", "import-linter>=2.17")
    session.run("ruff", "check", *SOURCES)
    session.run("ruff", "format", "--check", *SOURCES)
    session.run("lint-imports")  # reads the package from the working directory, not installed


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy in strict mode over asyncz_like, as ``make typecheck``."""
    session.install("-e", ".[all,test]")
    session.run("mypy", *session.posargs)


def install_mysqlclient(session: nox.Session) -> None:
    """The ``mysqlclient`` extra (mysql+mysqldb://), as the Makefile's ``mysqlclient`` target:
    built from source, it needs Debian's libmariadb-dev and pkg-config, which a session does not
    install. A failed build is not fatal: its broker tests skip (and fail with CI=true)."""
    session.log("mysqlclient: a failed build (no libmariadb-dev, pkg-config) skips its tests")
    session.run(
        "python", "-m", "pip", "install", "--quiet", "-e", ".[mysqlclient]", success_codes=[0, 1]
    )


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite, as the pytest part of ``make test`` (the services tests need servers)."""
    session.install("-e", ".[all,test]")
    install_mysqlclient(session)
    session.run("python", "-m", "pytest", "-q", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """The Sphinx site, warnings as errors, as ``make docs``."""
    session.install("-e", ".[docs]")
    session.run("python", "-m", "sphinx", "-W", "-b", "html", "docs", "docs/_build/html")


@nox.session
def bench(session: nox.Session) -> None:
    """The benchmarks, as ``make bench``, then the charts of docs/performance.md redrawn."""
    session.install("-e", ".[bench]")
    # Exit status 1 means some runs failed (an anchor that cannot use a store); the results
    # file lists them, and the charts are still worth drawing.
    session.run("python", "benchmarks/run.py", *session.posargs, success_codes=[0, 1])
    session.run("python", "benchmarks/charts.py")
