"""The RabbitMQ broker's acks: as few frames as the channel allows, never a tag twice."""

from __future__ import annotations

from typing import Any

from asyncz_like.brokers.rabbitmq.acks import Acks


class Channel:
    """Records the acks and nacks sent, as RabbitMQ would see them."""

    def __init__(self) -> None:
        self.frames: list[tuple[str, int, bool]] = []

    def basic_ack(self, tag: int, multiple: bool = False) -> None:
        self.frames.append(("ack", tag, multiple))

    def basic_nack(self, tag: int, multiple: bool = False, requeue: bool = True) -> None:
        assert requeue
        self.frames.append(("nack", tag, multiple))


def delivered(acks: Acks, tags: range, **options: Any) -> None:
    for tag in tags:
        acks.delivered(tag, **options)


def test_a_burst_of_late_wakeups_is_acked_in_one_frame() -> None:
    acks, channel = Acks(), Channel()
    delivered(acks, range(1, 6), ack_later=True)
    assert channel.frames == []  # nothing until the burst is over
    acks.flush(channel)
    assert channel.frames == [("ack", 5, True)]
    acks.flush(channel)  # nothing is acked twice
    assert channel.frames == [("ack", 5, True)]


def test_a_tag_still_held_below_keeps_the_later_ones_single() -> None:
    acks, channel = Acks(), Channel()
    acks.delivered(1)  # held for a run going on
    delivered(acks, range(2, 4), ack_later=True)
    acks.flush(channel)
    assert channel.frames == [("ack", 2, False), ("ack", 3, False)]
    acks.delivered(4, ack_later=True)
    acks.ack(channel, [1])  # the run ended: its ack covers the later one too
    assert channel.frames[2:] == [("ack", 4, True)]


def test_only_the_tags_below_the_oldest_open_one_are_covered() -> None:
    acks, channel = Acks(), Channel()
    delivered(acks, range(1, 7))
    acks.ack(channel, [1, 2, 5, 6, 2, 99])  # a repeated or unknown tag is skipped
    assert channel.frames == [("ack", 2, True), ("ack", 5, False), ("ack", 6, False)]
    acks.ack(channel, [4, 3])
    assert channel.frames[3:] == [("ack", 4, True)]


def test_a_requeue_nacks_after_acking_the_late_ones() -> None:
    acks, channel = Acks(), Channel()
    acks.delivered(1, ack_later=True)
    delivered(acks, range(2, 5))
    acks.requeue(channel, [3, 4])
    assert channel.frames == [("ack", 1, True), ("nack", 3, False), ("nack", 4, False)]
    acks.requeue(channel, [2])
    assert channel.frames[3:] == [("nack", 2, True)]


def test_a_new_channel_forgets_the_old_tags() -> None:
    acks, channel = Acks(), Channel()
    delivered(acks, range(1, 4), ack_later=True)
    acks.reset()
    acks.flush(channel)
    acks.ack(channel, [1, 2])
    assert channel.frames == []
