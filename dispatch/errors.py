"""Domain errors raised by service functions; the API maps each to an HTTP status and reason."""

from __future__ import annotations

import json


class DomainError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DomainError):
    status_code = 404


class Conflict(DomainError):
    """The request is valid but the current state forbids it (e.g. an invalid transition)."""

    status_code = 409


class Forbidden(DomainError):
    status_code = 403


class Invalid(DomainError):
    status_code = 422


class Busy(DomainError):
    """Overloaded for a moment: nothing was stored, and the client should retry shortly."""

    status_code = 503


def error_body(exc: DomainError) -> tuple[int, bytes, dict[str, str]]:
    """Status, JSON body and headers of the API's answer to a domain error (one format)."""
    headers = {"Retry-After": "1"} if isinstance(exc, Busy) else {}
    return exc.status_code, json.dumps({"detail": exc.message}).encode(), headers
