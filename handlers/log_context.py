"""What the log lines of the work in hand carry: the request's correlation id (set at the
HTTP edge, bot.log_format) and the case being worked on (set here, by the use cases)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from policy.lifecycle import case_ref

CORRELATION_ID: ContextVar[str | None] = ContextVar("correlation_id", default=None)
CASE_REF: ContextVar[str | None] = ContextVar("case_ref", default=None)


@contextlib.contextmanager
def working_on(case_id: int) -> Iterator[None]:
    """Log lines inside name the case; reset after, since a console or delivery task runs on."""
    token = CASE_REF.set(case_ref(case_id))
    try:
        yield
    finally:
        CASE_REF.reset(token)
