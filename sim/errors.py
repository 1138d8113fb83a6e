"""Errors that reach the user as one line: bad input names the file and the key."""

from __future__ import annotations

import math
import os
import stat
import unicodedata
from pathlib import Path


def printable(text: object) -> str:
    """Text safe to print on one line: control characters (newlines, terminal escapes) escaped.

    A key or value read from a file may hold anything; echoed raw, a newline splits the message
    and an escape sequence rewrites the user's terminal.
    """
    out = []
    for char in str(text):
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") or char in "\x7f":
            escaped = char.encode("unicode_escape", "backslashreplace").decode("ascii")
            out.append(escaped if escaped != char else f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


MAX_SHOWN_CHARS = 80
"""The most characters a message spends on a value read from input (a value may be huge)."""


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)`` capped at about `limit` characters, without rendering the whole value.

    A list or mapping from a YAML alias bomb may hold a billion items: only its first few are
    rendered, so the message costs as little as the cap.
    """
    text = _bounded_repr(value, limit + 1)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _bounded_repr(value: object, budget: int) -> str:
    # Renders items until `budget` characters are spent; containers are never walked whole.
    if isinstance(value, str):
        return repr(value[:budget])
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 4 * budget:
        digits = int(value.bit_length() * math.log10(2)) + 1  # str() of it may be refused
        return f"{'minus ' if value < 0 else ''}a number of about {digits:,} digits"
    if isinstance(value, list | tuple | dict | set | frozenset):
        items = iter(value.items()) if isinstance(value, dict) else iter(value)
        opening, closing = ("{", "}") if isinstance(value, dict | set | frozenset) else (
            ("(", ")") if isinstance(value, tuple) else ("[", "]"))
        parts, spent = [], 1
        for item in items:
            if spent >= budget:
                parts.append("…")
                break
            part = (f"{_bounded_repr(item[0], budget - spent)}: {_bounded_repr(item[1], budget - spent)}"
                    if isinstance(value, dict) else _bounded_repr(item, budget - spent))
            parts.append(part)
            spent += len(part) + 2
        trailing = "," if isinstance(value, tuple) and len(value) == 1 else ""
        return opening + ", ".join(parts) + trailing + closing
    return repr(value)[:budget]


def not_a_file(path: os.PathLike | str) -> str | None:
    """Why `path` cannot be read as an input file (missing, a folder, a named pipe), or None.

    A named pipe or a device would block the reader or never end: only regular files are read.
    """
    path = Path(path)
    if "\0" in str(path):
        return "the path contains a NUL character"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"cannot read it ({exc.strerror})"
    if stat.S_ISDIR(mode):
        return "is a folder, not a file"
    if not stat.S_ISREG(mode):
        return "is not a regular file (a named pipe, socket or device)"
    return None


class InputError(Exception):
    """Bad input (scenario, CSV, sweep file, CLI flag): the CLI prints it on one line, exit 2."""

    def __init__(self, source: str, key: str | None, message: str):
        self.source = printable(source)
        self.key = None if key is None else printable(key)
        self.message = printable(" ".join(str(message).split()))
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"
