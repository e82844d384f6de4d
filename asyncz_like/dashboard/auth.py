"""Users of the dashboard: a users file of ``name:role:hash`` lines, argon2 hashes only."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from asyncz_like.exceptions import MissingDependencyError

try:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
except ImportError as error:  # pragma: no cover - the extra is installed in the tests
    raise MissingDependencyError("argon2-cffi", "dashboard") from error

__all__ = ["ROLES", "User", "Users", "hash_password", "user_line"]

#: The roles, weakest first: a viewer reads, an operator also changes things.
ROLES = ("viewer", "operator")
MIN_PASSWORD_LENGTH = 8
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HASHER = PasswordHasher()


@dataclass(frozen=True, slots=True)
class User:
    """One user who may log in: a name and a role (the hash stays in :class:`Users`)."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this user has ``role`` or a stronger one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"name must be 1-64 letters, digits or _.@- (no ':' or spaces), got name={name!r}"
        )
    return name


def check_role(role: object) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got role={role!r}")
    return str(role)


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (at least 8 characters)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"password must be a string of at least {MIN_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def user_line(name: str, role: str, password: str) -> str:
    """One line of a users file, ``name:role:hash``; the password itself is not kept."""
    return f"{check_name(name)}:{check_role(role)}:{hash_password(password)}"


class Users:
    """The users who may log in, read from ``name:role:hash`` lines.

    Blank lines and lines starting with ``#`` are skipped; a bad line raises ValueError
    naming its source and number. An empty set of users is refused: the dashboard does not
    run without credentials.
    """

    def __init__(self, lines: Iterable[str], source: str = "users") -> None:
        self._hashes: dict[str, tuple[User, str]] = {}
        for number, raw in enumerate(lines, 1):
            line = raw.strip()
            if line and not line.startswith("#"):
                self._add(line, f"{source}, line {number}")
        if not self._hashes:
            raise ValueError(
                f"{source}: no users; the dashboard refuses to start without credentials "
                "(make a line with asyncz_like.dashboard.auth.user_line(name, role, password))"
            )
        # verified when a name is unknown, so that a wrong name costs as long as a wrong password
        self._decoy = next(iter(self._hashes.values()))[1]

    def _add(self, line: str, where: str) -> None:
        parts = line.split(":", 2)
        if len(parts) != 3:
            raise ValueError(f"{where}: expected name:role:hash")
        name, role, hashed = parts
        try:
            user = User(check_name(name), check_role(role))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if not hashed.startswith("$argon2"):
            raise ValueError(f"{where}: the password must be an argon2 hash, not the password")
        if name in self._hashes:
            raise ValueError(f"{where}: user {name!r} appears twice")
        self._hashes[name] = (user, hashed)

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Users:
        """The users of a file; FileNotFoundError names a missing one."""
        text = Path(path).read_text(encoding="utf-8")
        return cls(text.splitlines(), str(path))

    @classmethod
    def coerce(cls, users: object) -> Users:
        """Users from itself, a path to a users file, or an iterable of lines."""
        if isinstance(users, Users):
            return users
        if users is None:
            raise ValueError(
                "users is required: the dashboard refuses to start without credentials"
            )
        if isinstance(users, str | os.PathLike):
            return cls.from_file(users)
        if isinstance(users, Mapping) or not isinstance(users, Iterable):
            raise TypeError(
                f"users must be a users file path or name:role:hash lines, got {users!r}"
            )
        return cls(list(users))

    def get(self, name: str | None) -> User | None:
        entry = self._hashes.get(name) if name is not None else None
        return entry[0] if entry is not None else None

    def verify(self, name: str, password: str) -> User | None:
        """The user when ``password`` is theirs, else None."""
        user, hashed = self._hashes.get(name, (None, self._decoy))
        try:
            _HASHER.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return user

    def __len__(self) -> int:
        return len(self._hashes)
