"""How long ago, in words: the dashboard's and the command line's "last heartbeat"."""

from __future__ import annotations

import pytest

from asyncz_like.conversions import age_words


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0, "0 s ago"), (2.6, "3 s ago"), (59.4, "59 s ago"), (60, "1 min ago"),
        (3599, "59 min ago"), (3600, "1 h ago"), (3600 + 5 * 60 + 10, "1 h 5 min ago"),
        (86400 * 3 + 7, "3 d ago"), (-2, "in 2 s"), (-0.2, "0 s ago"),
    ],
)  # fmt: skip
def test_age_words(seconds: float, words: str) -> None:
    assert age_words(seconds) == words
