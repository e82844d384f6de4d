"""The RabbitMQ broker's wake-ups of many runs: their bodies, and the runs left open of each."""

from __future__ import annotations

from asyncz_like.brokers.rabbitmq.batches import (
    MANY,
    MAX_RUNS,
    OpenBatches,
    body_of,
    messages_of,
    run_ids_of,
)


def test_one_run_keeps_its_id_as_the_body_and_many_travel_as_a_list() -> None:
    assert body_of(["a"]) == (b"a", None)
    ids = ["a", "b\nc", 'é,"]', "x" * 200]
    body, content_type = body_of(ids)
    assert content_type == MANY and run_ids_of(body, content_type) == ids
    assert run_ids_of(b'["a"', MANY) == [] and run_ids_of(b'{"a": 1}', MANY) == []
    assert run_ids_of(b'["a", 1]', MANY) == ["a"]
    assert run_ids_of(b'["a","b"]', None) == ['["a","b"]']  # no content type: one id


def test_a_message_is_settled_once_each_of_its_runs_is() -> None:
    batches = OpenBatches()
    batches.opened(7, 3, 4)  # one of its four runs was known here already
    assert batches.open_runs(7) == 3
    assert batches.settle(7) is False
    assert batches.settle(7, 2) is True  # none left open: ack it
    assert batches.open_runs(7) == 0 and batches.settle(7) is False  # acked once only
    batches.opened(9, 1, 1)
    batches.clear()
    assert batches.open_runs(9) == 0


def test_messages_go_per_queue_and_clamped_priority_in_the_order_first_seen() -> None:
    wakeups = [("q", "a", 0), ("q", "b", 50), ("r", "c", 0), ("q", "d", -3), ("q", "e", 9)]
    assert [(queue, priority, run_ids_of(body, kind))
            for queue, priority, body, kind in messages_of(wakeups)] == [
        ("q", 0, ["a", "d"]), ("q", 9, ["b", "e"]), ("r", 0, ["c"]),
    ]  # fmt: skip
    many = [("q", f"r{i}", 0) for i in range(MAX_RUNS + 1)]
    assert [len(run_ids_of(body, kind)) for _, _, body, kind in messages_of(many)] == [
        MAX_RUNS, 1]  # fmt: skip


def test_after_a_full_claim_one_runs_message_is_requeued_and_a_batch_kept() -> None:
    batches = OpenBatches()
    batches.opened(1, 1, 1)  # one run's message
    batches.opened(2, 3, 3)  # one of three runs held here
    batches.opened(3, 2, 2)
    others = {1: ["a"], 2: ["c", "d"]}
    assert batches.settle_others(others, full=True) == ([], [1])
    assert batches.open_runs(1) == 0 and batches.open_runs(2) == 3  # kept, all still open
    assert batches.settle_others(others | {3: ["e", "f"]}, full=False) == ([3], [])
    assert batches.open_runs(2) == 1  # the run held here keeps its message
