"""The RabbitMQ broker's outbox: wake-ups handed in by any thread, taken in order, bounded."""

from __future__ import annotations

import threading

import pytest

from asyncz_like.brokers.rabbitmq.outbox import Outbox, OutboxFull


def test_items_come_out_in_the_order_put_and_only_the_first_tells_the_taker() -> None:
    outbox: Outbox[str] = Outbox(10)
    assert outbox.put(["a", "b"]) is True  # none waited: the taker must be told
    assert outbox.put(["c"]) is False  # rides along with the round already due
    assert outbox.take() == ["a", "b", "c"]
    assert outbox.take() == []
    assert outbox.put(["d"]) is True  # empty again: a new round


def test_items_past_the_limit_are_refused_whole_and_the_first_refusal_said_once() -> None:
    outbox: Outbox[int] = Outbox(3)
    outbox.put([1, 2])
    with pytest.raises(OutboxFull) as refused:
        outbox.put([3, 4])
    assert refused.value.waiting == 2 and refused.value.first is True
    with pytest.raises(OutboxFull) as again:
        outbox.put([5, 6])
    assert again.value.first is False  # the same spell of refusals: not worth a log line
    assert outbox.put([3]) is False  # what fits still goes in
    assert outbox.take() == [1, 2, 3]
    outbox.put([1, 2, 3])
    with pytest.raises(OutboxFull) as later:
        outbox.put([4])
    assert later.value.first is True  # taken since: a new spell


def test_puts_from_many_threads_lose_nothing_and_tell_the_taker_once_per_round() -> None:
    outbox: Outbox[int] = Outbox(100_000)
    start = threading.Barrier(4)
    told: list[bool] = []

    def putter(first: int) -> None:
        start.wait()
        for item in range(first, 4_000, 4):
            told.append(outbox.put([item]))

    threads = [threading.Thread(target=putter, args=(first,)) for first in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    items = outbox.take()
    assert sorted(items) == list(range(4_000))
    assert told.count(True) == 1  # nothing was taken meanwhile: one round
    assert [item for item in items if item % 4 == 1] == list(range(1, 4_000, 4))  # in order


def test_a_bad_limit_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match="limit must be a positive int"):
        Outbox(0)
