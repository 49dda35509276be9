"""The exit statuses of ``jupyter bookstore``, and which error gives which."""

from __future__ import annotations

from ..errors import BookstoreError, StoreError, status_for

__all__ = [
    "EXIT_CODES",
    "EXIT_DIFFERENT",
    "EXIT_FAILED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "CommandError",
    "exit_code_for",
]

#: Exit statuses of ``jupyter bookstore``.
EXIT_OK = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4
EXIT_UNAVAILABLE = 5
EXIT_FAILED = 6
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_DIFFERENT: "`diff --exit-code`: the two sides differ",
    EXIT_USAGE: "bad usage or invalid input (a malformed path, version id or notebook)",
    EXIT_NOT_FOUND: "no such file, key, bucket or version",
    EXIT_REFUSED: "not allowed by the configuration, or the target exists",
    EXIT_UNAVAILABLE: "the store cannot be reached or refused the credentials",
    EXIT_FAILED: "anything else (the message says what)",
}


class CommandError(Exception):
    """A failure the command reports as one line, with its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def exit_code_for(error: BookstoreError) -> int:
    """The exit status of a bookstore error, from the HTTP status its class carries (the
    REST API answers the same error with that status)."""
    status = status_for(error)
    if status == 404:
        return EXIT_NOT_FOUND
    if status in {403, 409}:
        return EXIT_REFUSED
    if status in {400, 413, 415, 422}:
        return EXIT_USAGE
    if isinstance(error, StoreError) or status >= 500:
        return EXIT_UNAVAILABLE
    return EXIT_FAILED
