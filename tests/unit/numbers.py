"""Strategies and a check shared by the tests of bad numbers, times and strings (issue #22).

Every public entry point that takes one must either give a usable result or raise a
ValueError/TypeError at the call: never an OverflowError, nor anything else.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

#: Moderate and deterministic: the same examples on every run, no deadline on a slow machine.
#: ``NUMBERS_EXAMPLES=3000`` in the environment looks harder (still derandomized).
FAST = settings(
    max_examples=int(os.environ.get("NUMBERS_EXAMPLES", "120")), deadline=None, derandomize=True
)

EDGE_INTS = [0, 1, -1, 2**31, 2**63 - 1, 2**63, 2**64, 10**11, 10**12, 10**30, -(10**30)]
EDGE_FLOATS = [0.0, -0.0, 1e-300, 5e-324, 0.5, 1e10, 1e11, 1e12, 3.2e11, 1e30, 1e308]

#: Any float (inf, nan, huge, tiny, negative) or int (2**63, 10**30...).
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.sampled_from(EDGE_INTS + [-x for x in EDGE_FLOATS] + EDGE_FLOATS),
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
)
#: None and values of other types than numbers.
not_numbers = st.sampled_from([None, True, False, "1", "inf", "nan", b"1", [1], object()])
anything = st.one_of(numbers, not_numbers)

#: Any datetime, naive or in one of a few zones with offsets of either sign, incl. the ends.
_ZONES = [None, UTC, "Asia/Tokyo", "America/New_York", "Pacific/Kiritimati", "Etc/GMT+12"]
times = st.one_of(
    st.datetimes(timezones=st.sampled_from([None, UTC])),
    st.sampled_from([datetime.min, datetime.max, datetime.max.replace(tzinfo=UTC)]),
    st.datetimes(min_value=datetime(9999, 12, 25), timezones=st.sampled_from([None, UTC])),
    st.datetimes(max_value=datetime(1, 1, 5), timezones=st.sampled_from([None, UTC])),
)
zones = st.sampled_from(_ZONES)

#: Strings a user might give an interval or a time: numbers with units, ISO times, junk.
texts = st.one_of(
    st.text(max_size=12),
    st.builds(
        lambda number, unit: f"{number}{unit}",
        st.one_of(st.integers(min_value=-(10**40), max_value=10**40), st.floats()),
        st.sampled_from(["", "s", "m", "h", "d", "w", " hours", "x"]),
    ),
    st.builds(datetime.isoformat, st.datetimes(timezones=st.sampled_from([None, UTC]))),
    st.sampled_from(["1e400s", "9" * 400, "inf", "nan", "-5m", "0s", "1h30m", "1d 2h"]),
)
durations = st.one_of(
    st.timedeltas(), st.sampled_from([timedelta.max, timedelta.min, timedelta(0)])
)
#: Instants at which a trigger may be asked for its fires, the ends of the calendar included.
nows = st.one_of(
    st.sampled_from(
        [
            datetime(2026, 1, 5, 12, tzinfo=UTC),
            datetime(9999, 12, 30, tzinfo=UTC),
            datetime(1, 1, 2, tzinfo=UTC),
        ]
    ),
    st.datetimes(
        min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
    ),
)


def clean(call: Callable[[], Any]) -> Any:
    """``call()``'s result, or None when it raised ValueError or TypeError (a clear error at
    the call, which the tests accept); any other exception propagates and fails the test."""
    try:
        return call()
    except (ValueError, TypeError):
        return None


def zone_of(name: str | None) -> Any:
    from asyncz_like.utils import to_timezone

    return to_timezone(name)


def attach(value: datetime, zone: str | None) -> datetime:
    """``value`` with ``zone`` put on a naive one (aware ones stay as they are)."""
    return (
        value if value.tzinfo is not None or zone is None else value.replace(tzinfo=zone_of(zone))
    )


def job() -> None:
    """The function of the tasks and runs these tests add."""
