"""Log lines as text (the default) or one JSON object a line (APPROVALS_LOG_FORMAT=json), each
carrying the HTTP request's correlation id and the case being worked on, where there are ones.

Every request gets a correlation id (the caller's `X-Correlation-Id` if it is a plain token,
else a new one): its log lines carry it, the response's `X-Correlation-Id` header returns it,
and an apology for an unexpected error quotes it.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import Literal, TextIO

from aiohttp import web
from pythonjsonlogger.json import JsonFormatter

from bot.http_errors import Handler
from bot.replies import new_correlation_id
from handlers.log_context import CASE_REF, CORRELATION_ID
from storage.records import case_ref, parse_case_ref

LogFormat = Literal["text", "json"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
HEADER = "X-Correlation-Id"
_CALLERS_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # nothing that could forge a log line
_REQUEST_ID = web.RequestKey("correlation_id", str)


class ContextFilter(logging.Filter):
    """Adds `correlation_id` and `case_id` (None outside a request or a case) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = CORRELATION_ID.get()
        record.case_id = CASE_REF.get()
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}{correlation_id}{case_id}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp="time",  # ISO 8601, UTC
    )


def log_handler(log_format: LogFormat, stream: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stream)
    handler.addFilter(ContextFilter())
    handler.setFormatter(
        json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    return handler


def configure_logging(level: str, log_format: LogFormat) -> None:
    """Logs to standard error, in the format asked for."""
    logging.basicConfig(level=level, handlers=[log_handler(log_format, sys.stderr)])


@web.middleware
async def correlate(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The outermost middleware: the request's ids, for every log line made answering it."""
    offered = request.headers.get(HEADER, "")
    correlation_id = offered if _CALLERS_ID.fullmatch(offered) else new_correlation_id()
    request[_REQUEST_ID] = correlation_id
    case_id = parse_case_ref(request.match_info.get("case_id", ""))
    ids = CORRELATION_ID.set(correlation_id)
    case = CASE_REF.set(case_ref(case_id) if case_id is not None else None)
    try:
        return await handler(request)
    finally:
        CASE_REF.reset(case)
        CORRELATION_ID.reset(ids)


async def correlation_header(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: also streamed responses and raised HTTP exceptions get it."""
    correlation_id = request.get(_REQUEST_ID)
    if correlation_id is not None:
        response.headers[HEADER] = correlation_id
