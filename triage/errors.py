"""Errors a user can act on. The CLI prints them as one line; anything else is a bug."""

from __future__ import annotations


class TriageError(Exception):
    """A problem with the user's input or environment, explained in one line."""


def reason(exc: BaseException) -> str:
    """One short line saying why an operation on a file failed."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, EOFError):
        return "truncated compressed file (unexpected end of data)"
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class InputError(TriageError):
    """A file that cannot be read or parsed, optionally at a given line."""

    def __init__(self, path: str, reason: str, line_no: int | None = None) -> None:
        self.path = path
        self.reason = reason
        self.line_no = line_no
        where = f"{path}:{line_no}" if line_no is not None else path
        super().__init__(f"{where}: {reason}")
