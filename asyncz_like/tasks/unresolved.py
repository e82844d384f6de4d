"""Reading task records in a process that cannot import their functions.

A tool that only looks at records, or changes their schedule (the command line), needs no
function: a function defined in a script's ``__main__`` or in a module the tool cannot
import is then no reason to call the record broken. Within :func:`functions_not_imported`,
such a record decodes to a Task whose ``fn`` is an :class:`UnresolvedFunction`; its
``fn_reference`` is the record's, so a task written back keeps its reference. Stores remember
what a record decoded to: read a store instance in one mode only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, NoReturn

__all__ = ["UnresolvedFunction", "functions_not_imported", "unresolved_allowed"]

_ALLOWED: ContextVar[bool] = ContextVar("asyncz_like_unresolved_functions", default=False)


class UnresolvedFunction:
    """Stands for a function whose reference does not import here; calling it raises."""

    __slots__ = ("reason", "reference")

    def __init__(self, reference: str, reason: str) -> None:
        self.reference = reference
        self.reason = reason

    def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise LookupError(f"{self.reference} cannot be imported in this process: {self.reason}")

    def __repr__(self) -> str:
        return f"<UnresolvedFunction {self.reference}>"


@contextmanager
def functions_not_imported() -> Iterator[None]:
    """Within: records whose function does not import decode (in this thread or task) with
    an :class:`UnresolvedFunction`, their arguments unchecked against it."""
    token = _ALLOWED.set(True)
    try:
        yield
    finally:
        _ALLOWED.reset(token)


def unresolved_allowed() -> bool:
    """Whether :func:`functions_not_imported` is in force here."""
    return _ALLOWED.get()
