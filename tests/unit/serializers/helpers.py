"""Strict equality for round trips: same types all the way down, same zones and folds."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any


def assert_same(expected: Any, actual: Any, path: str = "value") -> None:
    assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
    if isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys differ"
        for key, item in expected.items():
            assert_same(item, actual[key], f"{path}[{key!r}]")
    elif isinstance(expected, list | tuple):
        assert len(actual) == len(expected), f"{path}: lengths differ"
        for index, (left, right) in enumerate(zip(expected, actual, strict=True)):
            assert_same(left, right, f"{path}[{index}]")
    elif isinstance(expected, datetime | time):
        assert actual.replace(tzinfo=None) == expected.replace(tzinfo=None), path
        assert repr(actual.tzinfo) == repr(expected.tzinfo), f"{path}: {actual.tzinfo!r}"
        assert actual.fold == expected.fold, f"{path}: fold"
    elif isinstance(expected, float | Decimal) and expected != expected:  # nan
        assert actual != actual, path
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
