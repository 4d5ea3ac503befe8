"""A source system acting on a case it filed: withdrawing it (the PO was cancelled) and
adding notes. The actor is the source (`system:intake:SOURCE`, as when it filed); the case
model decides whether it may (`Case.may_withdraw`, `Case.may_comment`), and the lifecycle
handlers write state, audit and outbox in one transaction, as for a person in chat."""

from __future__ import annotations

from aiohttp import web

from bot.api_models import CommentBody, WithdrawBody
from bot.intake_http import SERVICES_KEY, authorized, body_of, case_id_of, changed
from handlers.case_document import case_json
from handlers.commands import Comment, Withdraw
from handlers.lifecycle import comment, withdraw
from handlers.queries import case_details
from policy.actor import intake


async def withdraw_exception(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    case_id = case_id_of(request)
    body = await body_of(request, WithdrawBody, "a withdrawal")
    svc = request.app[SERVICES_KEY]
    await withdraw(svc, intake(body.source), Withdraw(case_id, body.reason))
    changed(request)
    return web.json_response(case_json(await case_details(svc, case_id)))


async def comment_on_exception(request: web.Request) -> web.Response:
    if (refusal := authorized(request)) is not None:
        return refusal
    case_id = case_id_of(request)
    body = await body_of(request, CommentBody, "a comment")
    svc = request.app[SERVICES_KEY]
    await comment(svc, intake(body.source), Comment(case_id, body.text, body.author))
    changed(request)
    return web.json_response(case_json(await case_details(svc, case_id)), status=201)
