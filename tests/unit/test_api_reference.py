"""The API reference (docs/reference/) covers every public name: each name in the
``__all__`` of every package (and of the public modules) has an autodoc directive, and the
pages are what docs/reference/generate.py writes today."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import asyncz_like

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
DIRECTIVE = re.compile(r"^\.\. auto(?:class|function|data):: (?P<name>\S+)$", re.MULTILINE)
#: The command line has its own page (docs/cli.md); its only export is the entry point.
NOT_IN_REFERENCE = {"asyncz_like.cli"}


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reference_generate", REFERENCE / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


@cache
def public_modules() -> list[str]:
    packages = [
        info.name
        for info in pkgutil.walk_packages(asyncz_like.__path__, "asyncz_like.")
        if info.ispkg
    ]
    names = ["asyncz_like", *packages, *generator().PUBLIC_MODULES]
    return [
        name
        for name in names
        if name not in NOT_IN_REFERENCE and hasattr(importlib.import_module(name), "__all__")
    ]


def documented() -> set[str]:
    return {
        match["name"]
        for page in REFERENCE.glob("*.md")
        for match in DIRECTIVE.finditer(page.read_text())
    }


def test_every_public_name_has_a_directive() -> None:
    expected = {
        f"{modname}.{name}"
        for modname in public_modules()
        for name in importlib.import_module(modname).__all__
    }
    assert len(expected) > 150  # the walk found the packages
    assert expected - documented() == set()


def test_every_directive_names_a_public_name() -> None:
    public = set(public_modules())
    for full in documented():
        modname, _, name = full.rpartition(".")
        assert modname in public, full
        assert name in importlib.import_module(modname).__all__, full


def test_the_pages_are_up_to_date() -> None:
    for filename, text in generator().pages().items():
        page = REFERENCE / filename
        assert page.exists(), f"run: python docs/reference/generate.py ({filename} missing)"
        assert page.read_text() == text, f"run: python docs/reference/generate.py ({filename})"
