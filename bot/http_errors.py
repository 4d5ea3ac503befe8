"""Errors as JSON for the HTTP API, from one middleware."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from bot.metrics import Metrics
from bot.replies import apology
from bot.replies import correlation_id as request_correlation_id
from handlers.errors import DomainError, InvalidRequest
from storage.database import Busy

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
METRICS_KEY = web.AppKey("metrics", Metrics)


def error_response(status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def domain_error_response(error: DomainError) -> web.Response:
    if isinstance(error, InvalidRequest):
        problems = [{"field": field, "message": message} for field, message in error.problems]
        return error_response(error.status, error.message, errors=problems)
    return error_response(error.status, error.message)


# Database trouble a client can wait out: 503 with Retry-After (seconds), never a 500.
_BUSY = ("database is locked", "database is busy")
_NO_SCHEMA = ("no such table", "undefinedtable")  # SQLite's words, asyncpg's error
_UNREACHABLE = ("connection", "could not connect", "server closed", "terminating")


def _database_trouble(request: web.Request, error: DBAPIError) -> web.Response:
    text = f"{type(error.orig).__name__} {error.orig}".lower()
    # PostgreSQL's SQLSTATE: 42P01 undefined table, class 08 connection, 53 resources, 57 shutdown
    state = str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", "") or "")
    if any(marker in text for marker in _BUSY) or state.startswith(("53", "55P03")):
        message, retry = "The database is busy; try again in a moment.", 1
    elif any(marker in text for marker in _NO_SCHEMA) or state == "42P01":
        message, retry = "The database schema is not up to date: run `approvals migrate`.", 30
    elif (
        error.connection_invalidated
        or state.startswith(("08", "57"))
        or any(marker in text for marker in _UNREACHABLE)
    ):
        message, retry = "The database is unavailable; try again shortly.", 5
    else:
        correlation_id = request_correlation_id()
        log.error(
            "database error answering %s %s [%s]: %s",
            request.method,
            request.path,
            correlation_id,
            error.orig,
        )
        return error_response(500, apology(correlation_id), correlation_id=correlation_id)
    log.warning("%s %s: answered 503: %s", request.method, request.path, error.orig)
    response = error_response(503, message)
    response.headers["Retry-After"] = str(retry)
    return response


@web.middleware
async def errors_and_metrics(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route.resource
    route_name = route.canonical if route is not None else "unmatched"
    started = time.perf_counter()
    try:
        response = await handler(request)
    except DomainError as error:
        response = domain_error_response(error)
    except web.HTTPException as error:
        if error.empty_body or error.status < 400:
            raise
        response = error_response(error.status, error.reason)
    except DBAPIError as error:
        response = _database_trouble(request, error)
    except Busy as error:
        log.warning("%s %s: answered 503: %s", request.method, request.path, error)
        response = error_response(503, "The database is busy; try again in a moment.")
        response.headers["Retry-After"] = "1"
    except Exception:
        correlation_id = request_correlation_id()
        log.exception(
            "unexpected error answering %s %s [%s]", request.method, request.path, correlation_id
        )
        response = error_response(500, apology(correlation_id), correlation_id=correlation_id)
    metrics = request.app[METRICS_KEY]
    metrics.http_requests.labels(route_name, str(response.status)).inc()
    metrics.http_seconds.labels(route_name).observe(time.perf_counter() - started)
    return response
