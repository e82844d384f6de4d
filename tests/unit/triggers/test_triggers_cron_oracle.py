"""CronTrigger.from_crontab checked against cronsim on generated five-field expressions.

The expressions stay where both libraries claim the same meaning. Left out on purpose:

* ``a-a/n``: cronsim reads a one-value range with a step as ``a/n`` (``18-18/3`` fires at
  18, 21, ...); we read it as the range, i.e. only ``a``, like Vixie cron;
* ``LW`` (last weekday of the month): cronsim only;
* ``L``/``#`` weekdays with a day-of-month such as ``*/2``: cronsim only (we raise ValueError);
* cronsim's Debian-style DST handling: the comparison runs in UTC and a fixed-offset zone.
"""

from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from itertools import islice

from cronsim import CronSim, CronSimError
from hypothesis import given, settings
from hypothesis import strategies as st

from asyncz_like.triggers import CronTrigger

MONTHS = ["", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"]
FIRES = 5


def _item(low: int, high: int, names: list[str] | None, code: int) -> str:
    """One list item decoded from a single integer, so that drawing stays cheap."""
    span = high - low + 1
    kind, code = code % 8, code // 8
    first, code = low + code % span, code // span
    last, code = low + code % span, code // span
    first, last = min(first, last), max(first, last)
    step = 1 + code % (span + 1)
    forms = [
        "*",
        f"*/{step}",
        str(first),
        f"{first}-{last}",
        f"{first}-{last}/{step}" if first < last else str(first),
        f"{first}/{step}",
    ]
    if names:
        forms += [names[first], f"{names[first]}-{names[last]}"]
    return forms[kind % len(forms)]


def field(low: int, high: int, names: list[str] | None = None) -> st.SearchStrategy[str]:
    item = st.integers(0, 2**31).map(partial(_item, low, high, names))
    return st.lists(item, min_size=1, max_size=3).map(",".join)


_SPECIAL_WEEKDAYS = st.integers(0, 79).map(
    lambda code: f"{code % 8}L" if code < 40 else f"{code % 8}#{code // 8 - 4}"
)
_WEEKDAY_ITEM = st.one_of(field(0, 7, WEEKDAYS), field(0, 7, WEEKDAYS), _SPECIAL_WEEKDAYS)


def _crontab(parts: tuple[str, str, str, str, list[str]]) -> str:
    minute, hour, day, month, weekday_items = parts
    weekdays = ",".join(weekday_items)
    has_special = any(c in weekdays for c in "L#")
    # Our day fields cannot say "day-of-month AND (weekday OR L/# weekday)".
    if has_special and day != "*" and (day.startswith("*") or weekdays.startswith("*")):
        day = "*"
    return " ".join([minute, hour, day, month, weekdays])


crontabs = st.tuples(
    field(0, 59),
    field(0, 23),
    st.one_of(field(1, 31), st.just("L"), field(1, 31).map(lambda f: f + ",L")),
    field(1, 12, MONTHS),
    st.lists(_WEEKDAY_ITEM, min_size=1, max_size=2),
).map(_crontab)


starts = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
    lambda value: value.replace(microsecond=0)
)


def check(expr: str, start: datetime) -> None:
    try:
        expected = list(islice(CronSim(expr, start), FIRES))
    except CronSimError:
        # Both reject it, or cronsim rejects days of the month no chosen month has.
        expected = []
        try:
            CronTrigger.from_crontab(expr)
        except ValueError:
            return
    trigger = CronTrigger.from_crontab(expr)
    got: list[datetime] = []
    previous = start
    for _ in range(FIRES):
        found = trigger.get_next_trigger_time(start.tzinfo or UTC, previous, start)
        if found is None:
            break
        got.append(found)
        previous = found
    assert got == expected, expr


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(crontabs, starts)
def test_matches_cronsim_in_utc(expr: str, start: datetime) -> None:
    check(expr, start.replace(tzinfo=UTC))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(crontabs, starts)
def test_matches_cronsim_in_a_fixed_offset_zone(expr: str, start: datetime) -> None:
    check(expr, start.replace(tzinfo=timezone(timedelta(hours=5, minutes=30))))


def test_known_examples() -> None:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for expr in ["0 2 * * *", "*/15 9-17 * * mon-fri", "0 0 13 * 5", "0 0 */2 * 1", "0 0 L * *"]:
        check(expr, start)
