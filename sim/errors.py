"""Errors that reach the user as one line: bad input names the file and the key."""

from __future__ import annotations

import unicodedata


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
