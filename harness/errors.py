"""User-facing errors.

``UserError`` carries one line that names the file/field at fault and what to do about it.
The CLI prints it without a traceback (exit code 2); library callers can catch it.
"""

from __future__ import annotations


class UserError(Exception):
    """An error caused by input the user can fix (bad path, config value, data row, name)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:  # one line, always
        return self.message.replace("\n", " ")
