"""Errors that reach the user as one line: bad input names the file and the key."""

from __future__ import annotations


class InputError(Exception):
    """Bad input (scenario, CSV, sweep file, CLI flag): the CLI prints it on one line, exit 2."""

    def __init__(self, source: str, key: str | None, message: str):
        self.source = str(source)
        self.key = key
        self.message = " ".join(str(message).split())
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        return f"{where}: {self.message}"
