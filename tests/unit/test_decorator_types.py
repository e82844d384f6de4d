"""``@scheduler.background`` and ``@scheduler.task`` keep the decorated function's types:
mypy --strict over a sample (tests/unit/samples/decorator_types.py) finds exactly the errors
it marks, and none on the lines that must pass."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

api = pytest.importorskip("mypy.api")

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = Path(__file__).parent / "samples" / "decorator_types.py"
EXPECT = re.compile(r"# expect: (?P<code>[a-z-]+)$")
ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def expected_errors() -> set[tuple[int, str]]:
    lines = enumerate(SAMPLE.read_text().splitlines(), start=1)
    return {
        (number, match["code"])
        for number, match in ((number, EXPECT.search(line)) for number, line in lines)
        if match is not None
    }


def mypy_errors() -> set[tuple[int, str]]:
    stdout, stderr, _ = api.run(
        ["--strict", "--config-file", str(ROOT / "pyproject.toml"), str(SAMPLE)]
    )
    assert not stderr, stderr
    found = {
        (int(match["line"]), match["code"])
        for match in map(ERROR.match, stdout.splitlines())
        if match is not None
    }
    assert found or "Success" in stdout, stdout
    return found


@pytest.mark.typing
@pytest.mark.timeout(240)  # without mypy's cache (make typecheck fills it) mypy reads it all
def test_the_decorators_keep_the_function_types(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # mypy finds this checkout's asyncz_like, not an installed one
    assert expected_errors()  # the sample marks errors: a checker that sees none fails
    assert mypy_errors() == expected_errors()
