"""The one place errors become replies.

Domain errors carry a message written for the user. Anything else is a bug: it is logged with
its traceback under a short correlation id, and the user sees an apology quoting that id.
"""

from __future__ import annotations

import logging
import uuid

from bot.chat_commands import UsageError
from handlers.errors import DomainError
from handlers.log_context import CORRELATION_ID

log = logging.getLogger(__name__)


def new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


def correlation_id() -> str:
    """The HTTP request's (bot.log_format), so the apology, its log line and the response's
    X-Correlation-Id agree; a new one outside a request."""
    return CORRELATION_ID.get() or new_correlation_id()


def apology(correlation_id: str) -> str:
    return (
        "Sorry, something went wrong on our side. It has been logged; "
        f"quote reference {correlation_id} if you contact support."
    )


def error_text(error: BaseException) -> str:
    """What to tell the user about `error` (logging it if it was unexpected)."""
    if isinstance(error, DomainError | UsageError):
        return error.message if isinstance(error, DomainError) else str(error)
    reference = correlation_id()
    log.error("unexpected error [%s]", reference, exc_info=error)
    return apology(reference)
