"""What only tests do to a broker's storage or transport: drop its table, delete its
RabbitMQ queues, cut its connection as a killed process would. Kept out of the package:
production classes carry no test-only methods (issue #18)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from asyncz_like.brokers import BaseBroker


def drop_table(broker: BaseBroker) -> None:
    """Drop the run and worker tables of a SQLAlchemyBroker."""
    from asyncz_like.brokers.sqlalchemy import SQLAlchemyBroker

    assert isinstance(broker, SQLAlchemyBroker), broker
    broker.db.table.drop(broker.db.engine, checkfirst=True)
    broker.db.workers_table.drop(broker.db.engine, checkfirst=True)


def delete_queues(broker: BaseBroker, queues: Iterable[str]) -> None:
    """Delete the RabbitMQ queues of these broker queues, and the dead letters, of a
    RabbitMQBroker's prefix."""
    from asyncz_like.brokers.rabbitmq import RabbitMQBroker

    assert isinstance(broker, RabbitMQBroker), broker
    wakeups = broker.wakeups
    names = [wakeups.queue_name(queue) for queue in queues]

    def delete(channel: Any) -> None:
        for name in names:
            channel.queue_delete(name)
        channel.queue_delete(wakeups.dead_letters)
        channel.exchange_delete(wakeups.dead_letters)

    wakeups.connection.call(delete)


def abort_connection(broker: BaseBroker) -> None:
    """Drop a RabbitMQBroker's socket without closing the AMQP session, as a SIGKILL would:
    RabbitMQ hands the wake-ups it held to other consumers."""
    from asyncz_like.brokers.rabbitmq import RabbitMQBroker

    assert isinstance(broker, RabbitMQBroker), broker
    broker.wakeups.connection.call(
        lambda channel: channel.connection._impl._transport.abort()  # pika has no public way
    )
