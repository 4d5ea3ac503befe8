"""`GET /api/v1/exceptions`: cases newest first, a page at a time, behind an opaque cursor.

The cursor is the base64url of the last listed case's (created_at, id): the next page starts
strictly after it (`storage.case_list`), so it stays right however many cases are filed
meanwhile. A cursor that does not decode is a 400, never a guess.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from aiohttp import web

from bot.api_models import CaseList, ListQuery
from bot.intake_http import SERVICES_KEY, authorized, validated
from handlers.case_document import case_out
from handlers.errors import DomainError, InvalidRequest
from handlers.queries import case_page
from storage.audit import format_time
from storage.case_list import CaseFilter, Position
from storage.cases import MAX_ID


class BadCursor(DomainError):
    status = 400

    def __init__(self) -> None:
        super().__init__(
            "The cursor is not one this API handed out: pass `next_cursor` from the previous "
            "page as it was, or leave it out to start from the newest case."
        )


def encode_cursor(position: Position) -> str:
    raw = json.dumps([format_time(position.created_at), position.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, case_id = json.loads(raw.decode())
        when = datetime.fromisoformat(at)
    except (binascii.Error, ValueError, TypeError):  # JSON, UTF-8 and unpacking errors too
        raise BadCursor from None
    valid = isinstance(case_id, int) and not isinstance(case_id, bool) and 0 < case_id <= MAX_ID
    if not valid or when.tzinfo is None:
        raise BadCursor
    return Position(when, case_id)


def _query(request: web.Request) -> ListQuery:
    repeated = sorted({k for k in request.query if len(request.query.getall(k)) > 1})
    if repeated:
        raise InvalidRequest([(name, "is given more than once") for name in repeated])
    return validated(ListQuery, dict(request.query), "the listing's filters")


async def list_exceptions(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    query = _query(request)
    after = decode_cursor(query.cursor) if query.cursor else None
    svc = request.app[SERVICES_KEY]
    person = svc.policy.find_person(query.requester) if query.requester else None
    filters = CaseFilter(
        status=query.status,
        code=query.code,
        requester=person.id if person is not None else query.requester,
        source=query.source,
        since=query.since,
        until=query.until,
    )
    page, following = await case_page(svc, filters, after, query.limit)
    body = CaseList(
        items=[case_out(details) for details in page],
        next_cursor=encode_cursor(following) if following is not None else None,
    )
    return web.json_response(body.model_dump(mode="json"))
