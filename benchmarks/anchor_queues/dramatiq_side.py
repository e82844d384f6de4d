"""dramatiq on RabbitMQ (queue ``--name``), for ``anchors.py``.

dramatiq runs sync actors on worker threads: ``--concurrency`` is its ``worker_threads``.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import Any

import dramatiq
import pika
from common import Recorder, emit, main, paced, ready
from dramatiq.brokers.rabbitmq import RabbitmqBroker

recorder = Recorder(0, 0, lambda: None)


def noop(index: int, sent: float) -> None:
    recorder.started(index, sent)
    recorder.ended(index)


def actor(args: argparse.Namespace) -> Any:
    broker = RabbitmqBroker(url=args.url)
    dramatiq.set_broker(broker)
    return dramatiq.actor(noop, actor_name="anchors_noop", queue_name=args.name, broker=broker)


def prepare(args: argparse.Namespace) -> None:
    """dramatiq declares its queues as it sends."""


def enqueue(args: argparse.Namespace) -> None:
    sender = actor(args)
    begun = time.monotonic()
    for index, due in enumerate(paced(args.count, args.rate)):
        if args.rate > 0:
            time.sleep(max(0.0, begun + due - time.monotonic()))
        sender.send(index, time.time())
    sender.broker.close()


def work(args: argparse.Namespace) -> None:
    global recorder
    done = threading.Event()
    recorder = Recorder(args.expect, args.warm, done.set)
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    broker = actor(args).broker
    worker = dramatiq.Worker(broker, queues={args.name}, worker_threads=args.concurrency)
    worker.start()
    ready()
    done.wait()
    worker.stop()
    broker.close()
    emit(recorder.report())


def clean(args: argparse.Namespace) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(args.url))
    channel = connection.channel()
    for queue in (args.name, f"{args.name}.DQ", f"{args.name}.XQ"):
        channel.queue_delete(queue)
    connection.close()


if __name__ == "__main__":
    sys.exit(main({"prepare": prepare, "enqueue": enqueue, "work": work, "clean": clean}))
