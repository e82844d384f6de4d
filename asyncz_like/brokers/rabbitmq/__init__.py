"""The RabbitMQ broker: wake-ups in priority queues, runs kept by a SQL or Redis broker."""

from asyncz_like.brokers.rabbitmq.broker import RabbitMQBroker

__all__ = ["RabbitMQBroker"]
