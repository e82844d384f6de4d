"""The shared checks of numbers and times (asyncz_like.limits, issue #22)."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from asyncz_like.limits import (
    FIRST,
    LAST,
    MAX_SECONDS,
    check_count,
    check_number,
    check_seconds,
    check_time,
    later,
    shifted,
)
from tests.helpers import START


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (math.inf, ValueError, "x=inf is not a finite number"),
        (math.nan, ValueError, "x=nan is not a finite number"),
        (-1, ValueError, "x must not be negative, got x=-1"),
        (10**30, ValueError, "x=1000000000000000000000000000000 is longer than the calendar"),
        (True, TypeError, "x must be a number, got x=True"),
        ("1", TypeError, "x must be a number, got x='1'"),
    ],
)
def test_check_seconds_names_the_argument(value: Any, error: type, text: str) -> None:
    with pytest.raises(error, match=re.escape(text)):
        check_seconds(value, "x")


def test_checks_take_what_is_in_range() -> None:
    assert check_seconds(MAX_SECONDS, "x") == MAX_SECONDS and check_seconds(0, "x") == 0
    assert check_number(2, "x", minimum=1, positive=True) == 2
    assert check_count(2**63 - 1, "x") == 2**63 - 1
    with pytest.raises(ValueError, match="x must be above 1"):
        check_number(1, "x", minimum=1, positive=True)
    with pytest.raises(ValueError, match=r"x=9223372036854775808 is too large"):
        check_count(2**63, "x")
    with pytest.raises(TypeError, match="x must be an int"):
        check_count(1.0, "x")


def test_check_time_and_the_calendar_arithmetic() -> None:
    assert check_time(LAST, "t") is LAST and check_time(FIRST, "t") is FIRST
    with pytest.raises(ValueError, match=r"t=9999-12-31T00:00:00 is outside the supported range"):
        check_time(datetime(9999, 12, 31), "t")
    with pytest.raises(ValueError, match=r"delay=1 is too far in the future \(beyond 9999-12-30"):
        later(LAST, timedelta(microseconds=1), "delay=1")
    with pytest.raises(ValueError, match="too far in the future"):
        later(START, timedelta.max, "delay=1")
    assert shifted(START, 1e18) == LAST and shifted(START, -1e18) == FIRST
    assert shifted(START, 1) == START + timedelta(seconds=1)
