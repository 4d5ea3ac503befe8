"""Expected failures. Their messages are written for the person who caused them.

Anything that is not a DomainError is a bug: the edge logs it with a correlation id and shows
the user a short apology instead of the exception text.
"""

from __future__ import annotations


class DomainError(Exception):
    """A refusal or a problem the user can act on; `message` is safe to show them."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(DomainError):
    """The input is malformed; `problems` lists (field, message) pairs."""

    status = 422

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        summary = "; ".join(f"{field}: {message}" for field, message in problems)
        super().__init__(f"The request has problems: {summary}")
        self.problems = problems


class NotFound(DomainError):
    status = 404


class NotAllowed(DomainError):
    """Permission or segregation of duties said no. The refusal is in the audit log."""

    status = 403


class Conflict(DomainError):
    """Someone else got there first, or the case is already final."""

    status = 409


class RationaleRequired(DomainError):
    status = 422
