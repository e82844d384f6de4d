"""Task ids to file names and back: reversible, portable, safe on case-insensitive disks.

Lower-case ASCII letters, digits, ``_`` and ``-`` stay as they are; every other byte of the
id's UTF-8 is written ``%XX`` (upper-case hex). So ``report:Daily/1.5`` is stored as
``report%3A%44aily%2F1%2E5``: no ``/``, no leading dot, no name that differs from another
only by case (``Report`` and ``report`` are ``%52eport`` and ``report``).
"""

from __future__ import annotations

import re

from asyncz_like.exceptions import TaskConfigurationError

#: The longest encoded name (without suffix); leaves room for temp and lease names in 255 bytes.
MAX_NAME = 200
MAX_SUFFIX = 20

_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789_-")
_ESCAPES = [chr(b) if b in _SAFE else f"%{b:02X}" for b in range(256)]
_NAME = re.compile(r"(?:[a-z0-9_-]|%[0-9A-F]{2})+")
_SUFFIX = re.compile(r"[A-Za-z0-9._-]+")


def encode_name(task_id: str) -> str:
    """The file name stem of ``task_id``; TaskConfigurationError when it would be too long."""
    if not isinstance(task_id, str) or not task_id:
        raise TaskConfigurationError(f"A task id must be a non-empty string, got {task_id!r}")
    name = "".join([_ESCAPES[b] for b in task_id.encode("utf-8", "surrogatepass")])
    if len(name) > MAX_NAME:
        raise TaskConfigurationError(
            f"Task id {task_id[:40]!r}... is too long for the file store: its file name "
            f"would have {len(name)} characters, at most {MAX_NAME} fit"
        )
    return name


def decode_name(name: str) -> str | None:
    """The task id of a stem :func:`encode_name` made, or None for any other name."""
    if len(name) > MAX_NAME or not _NAME.fullmatch(name):
        return None
    raw = bytearray()
    index = 0
    while index < len(name):
        if name[index] == "%":
            raw.append(int(name[index + 1 : index + 3], 16))
            index += 3
        else:
            raw.append(ord(name[index]))
            index += 1
    try:
        task_id = raw.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    # only the one canonical spelling is ours (``%61`` is not another name for ``a``)
    return task_id if "".join([_ESCAPES[b] for b in raw]) == name else None


def check_suffix(suffix: str) -> str:
    """``suffix`` when it is a usable file name ending, else ValueError."""
    if not isinstance(suffix, str) or len(suffix) > MAX_SUFFIX or not _SUFFIX.fullmatch(suffix):
        raise ValueError(
            f"suffix must be 1 to {MAX_SUFFIX} characters of letters, digits, '.', '_' or "
            f"'-', got {suffix!r}"
        )
    return suffix
