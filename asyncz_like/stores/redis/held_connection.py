"""The store's script calls on one connection it holds out of its client's pool."""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from asyncz_like.stores.redis.connection import import_module, transient_errors

if TYPE_CHECKING:
    from redis import Redis
    from redis.commands.core import Script

#: One script call of :meth:`ScriptRunner.run_many`: the script, its keys, its arguments.
ScriptCall = tuple["Script", Sequence[Any], Sequence[Any]]


class ScriptRunner:
    """Runs the store's Lua scripts: ``runner(script, keys, args)`` is ``script(keys, args)``.

    Through redis-py's ``Script``, every call checks a connection out of the pool and back
    (a lock and the pool's bookkeeping), goes through the client's retry and its metrics:
    about 40 µs of Python for a script whose server part is about 14 µs, a third of an add's
    time. So a runner made with ``hold=True`` keeps one connection of the client's
    pool for itself and sends ``EVALSHA`` on it with redis-py's own ``Connection`` (which
    still connects, authenticates, speaks TLS and RESP2/3, checks health at the client's
    ``health_check_interval`` and parses replies).

    - A call while another thread uses the held connection goes through ``Script``.
    - Before each call the connection is checked as the pool checks one it hands out: one
      the server closed while it was idle is connected again, without an error.
    - Any error but an error reply gives the connection back to the pool, disconnected; the
      next call takes another. Retrying is the store's job (``call_with_retries``).
    - A script the server lost (``NOSCRIPT``, after a restart) is run through ``Script``,
      which loads it again.
    - In a forked child the parent's connection is left alone and another taken.

    Only a client the store built itself is held (``hold=True``), with a plain connection
    pool: a client the user gave keeps its own retry, pool and metrics on every call.
    """

    def __init__(self, client: Redis, hold: bool) -> None:
        redis = import_module("redis")
        pool = client.connection_pool
        plain_pool = type(pool) is redis.ConnectionPool
        self._pool = pool if hold and plain_pool and client.connection is None else None
        self._no_script: type[BaseException] = redis.exceptions.NoScriptError
        self._error_reply: type[BaseException] = redis.exceptions.ResponseError
        self._broken: tuple[type[BaseException], ...] = (*transient_errors(), OSError)
        self._lock = threading.Lock()
        self._connection: Any = None
        self._pid = 0
        # redis-py before 5.3 wants a command name; later ones warn when given one
        wanted = inspect.signature(pool.get_connection).parameters.get("command_name")
        self._checkout_args = ("EVALSHA",) if wanted and wanted.default is wanted.empty else ()
        self._pack = _hiredis_packer(redis, pool.connection_kwargs)

    def __call__(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        if self._pool is None or not self._lock.acquire(blocking=False):
            return script(keys=keys, args=args)
        try:
            return self._run_held(script, keys, args)
        finally:
            self._lock.release()

    def _run_held(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        connection = self._connection
        if connection is None or self._pid != os.getpid():
            connection = self._take()
        else:
            self._check_before_use(connection)
        try:
            self._send(connection, ("EVALSHA", script.sha, len(keys), *keys, *args))
            reply = connection.read_response()
        except self._no_script:  # NOSCRIPT: the script did not run; Script loads it and runs it
            return script(keys=keys, args=args)
        except self._error_reply:  # the whole reply was read: the connection is fine
            raise
        except BaseException:  # the connection may hold half a reply
            self._give_back(disconnect=True)
            raise
        if _should_reconnect(connection):  # the server announced maintenance (redis-py 6+)
            self._give_back(disconnect=True)
        return reply

    def run_many(self, calls: Sequence[ScriptCall]) -> list[Any]:
        """``[runner(*call) for call in calls]``, sent together in one round trip on the held
        connection (one after the other through ``Script`` when it is busy or not held). The
        scripts run in order; an error reply (a ``ResponseError``) comes back in its place,
        the other scripts having run. A script the server lost is run again alone, through
        ``Script``. Any other error is raised."""
        if self._pool is None or not self._lock.acquire(blocking=False):
            return [self._reply_of(script, keys, args) for script, keys, args in calls]
        try:
            replies = self._run_many_held(calls)
        finally:
            self._lock.release()
        for index, (script, keys, args) in enumerate(calls):
            if isinstance(replies[index], self._no_script):  # it did not run
                replies[index] = self._reply_of(script, keys, args)
        return replies

    def _reply_of(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        try:
            return script(keys=keys, args=args)
        except self._error_reply as error:
            return error

    def _run_many_held(self, calls: Sequence[ScriptCall]) -> list[Any]:
        connection = self._connection
        if connection is None or self._pid != os.getpid():
            connection = self._take()
        else:
            self._check_before_use(connection)
        commands = [("EVALSHA", script.sha, len(keys), *keys, *args)
                    for script, keys, args in calls]  # fmt: skip
        replies: list[Any] = []
        try:
            if self._pack is None:
                connection.send_packed_command(connection.pack_commands(commands))
            else:
                connection.send_packed_command([b"".join(map(self._pack, commands))])
            for _ in calls:
                try:
                    replies.append(connection.read_response())
                except self._error_reply as error:  # the whole reply was read: read on
                    replies.append(error)
        except BaseException:  # the connection may hold half a reply
            self._give_back(disconnect=True)
            raise
        if _should_reconnect(connection):
            self._give_back(disconnect=True)
        return replies

    def _send(self, connection: Any, command: tuple[Any, ...]) -> None:
        if self._pack is None:
            connection.send_command(*command)
        else:
            connection.send_packed_command([self._pack(command)])  # a list of chunks

    def _check_before_use(self, connection: Any) -> None:
        """What the pool checks at each checkout: a connection with bytes to read (stray
        ones, or the end of a connection the server closed while it was idle) is connected
        again before use, so that no call fails, and no retry is logged, for it."""
        try:
            ready = connection.can_read()
        except self._broken:
            ready = True
        if ready:
            connection.disconnect()  # the next send connects again

    def _take(self) -> Any:
        assert self._pool is not None
        self._connection = self._pool.get_connection(*self._checkout_args)
        self._pid = os.getpid()
        return self._connection

    def _give_back(self, disconnect: bool) -> None:
        connection, self._connection = self._connection, None
        if connection is None or self._pool is None or self._pid != os.getpid():
            return
        if disconnect:
            connection.disconnect()
        self._pool.release(connection)

    def close(self) -> None:
        """Give the held connection back to the pool (the store is shutting down)."""
        with self._lock:
            self._give_back(disconnect=False)


def _hiredis_packer(
    redis: Any, connection_kwargs: dict[str, Any]
) -> Callable[[tuple[Any, ...]], bytes] | None:
    """hiredis's ``pack_command`` when redis-py packs with it too, with the default UTF-8
    encoding: redis-py first encodes each argument in Python, which cost 6.7 µs per
    enqueued run (its six arguments) against 1.6 for hiredis alone, the same bytes."""
    if not getattr(redis.utils, "HIREDIS_AVAILABLE", False):
        return None
    if (
        connection_kwargs.get("encoding", "utf-8") != "utf-8"
        or connection_kwargs.get("encoding_errors", "strict") != "strict"
    ):
        return None
    import hiredis

    pack: Callable[[tuple[Any, ...]], bytes] = hiredis.pack_command
    return pack


def _should_reconnect(connection: Any) -> bool:
    should_reconnect = getattr(connection, "should_reconnect", None)
    return bool(should_reconnect is not None and should_reconnect())
