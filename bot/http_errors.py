"""Errors as JSON for the HTTP API, from one middleware."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.metrics import Metrics
from bot.replies import apology, new_correlation_id
from handlers.errors import DomainError, InvalidRequest

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
    except Exception:
        correlation_id = new_correlation_id()
        log.exception(
            "unexpected error answering %s %s [%s]", request.method, request.path, correlation_id
        )
        response = error_response(500, apology(correlation_id), correlation_id=correlation_id)
    metrics = request.app[METRICS_KEY]
    metrics.http_requests.labels(route_name, str(response.status)).inc()
    metrics.http_seconds.labels(route_name).observe(time.perf_counter() - started)
    return response
