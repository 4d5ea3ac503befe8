"""`GET /audit/export?token=...`: the audit export behind a link handed out in chat.

The token is checked first, before anything is read (401 in plain words for a missing,
forged, expired or wrong-purpose one); then the person it names must still be an auditor or
admin (403 otherwise, and the refusal is audited); then the export is recorded and streamed,
the same JSON Lines `approvals audit export` writes.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from aiohttp import web

from bot.audit_export import stream_export
from bot.intake import SERVICES_KEY
from bot.links import Claim, LinkError, LinkSigner
from bot.replies import correlation_id
from bot.settings import Settings
from handlers.audit_chat import ExportRange, record_export
from handlers.context import Actor
from handlers.errors import NotAllowed
from policy.lifecycle import case_ref, parse_case_ref

log = logging.getLogger(__name__)

EXPORT_PATH = "/audit/export"
PURPOSE = "audit-export"
PLATFORM = "web"
BATCH_LINES = 500  # lines per write: few syscalls, little memory


@dataclass(frozen=True, slots=True)
class AuditDownloads:
    """The signer and the public base URL; one per process, shared by every platform."""

    signer: LinkSigner
    public_url: str | None  # None: no links can be handed out

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditDownloads:
        public_url, secret = settings.APPROVALS_PUBLIC_URL, settings.APPROVALS_LINK_SECRET
        if public_url is None and secret is None:  # no links are made: nothing to warn about
            return cls(LinkSigner(secrets.token_urlsafe(48)), None)
        return cls(LinkSigner.from_secret(secret), public_url)

    def link(self, person_id: str, wanted: ExportRange, now: datetime) -> str | None:
        if self.public_url is None:
            return None
        claims: dict[str, Claim] = {
            "case": wanted.case,
            "since": wanted.since.isoformat() if wanted.since else None,
        }
        token = self.signer.sign(purpose=PURPOSE, subject=person_id, now=now, claims=claims)
        return f"{self.public_url}{EXPORT_PATH}?{urlencode({'token': token})}"

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(EXPORT_PATH, self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        svc = request.app[SERVICES_KEY]
        try:
            grant = self.signer.read(
                request.query.get("token"), purpose=PURPOSE, now=svc.clock.now()
            )
            wanted = _range(grant.claims.get("case"), grant.claims.get("since"))
        except LinkError as refused:
            log.info("refused an audit export link: %s", refused)
            return web.Response(status=401, text=str(refused))
        actor = Actor(grant.subject, PLATFORM)
        try:
            through = await record_export(svc, actor, wanted)
        except NotAllowed as refused:
            log.info("refused an audit export to %s: %s", grant.subject, refused.message)
            return web.Response(status=403, text=refused.message)
        name = export_filename(wanted, svc.clock.now())
        response = web.StreamResponse(
            headers={
                "Content-Type": "application/x-ndjson; charset=utf-8",
                "Content-Disposition": f'attachment; filename="{name}"',
                "Cache-Control": "no-store",  # the log stays out of shared caches
            }
        )
        await response.prepare(request)
        try:
            lines: list[str] = []
            async for line in stream_export(
                svc.db, case=wanted.case, since=wanted.since, through=through
            ):
                lines.append(line)
                if len(lines) >= BATCH_LINES:
                    await response.write("".join(lines).encode())
                    lines.clear()
            await response.write("".join(lines).encode())
        except (ConnectionError, OSError):
            log.info("the audit export to %s stopped: the client went away", grant.subject)
            return response
        except Exception:
            # The status is sent; all that is left is to cut the download short, visibly.
            log.exception("the audit export to %s failed [%s]", grant.subject, correlation_id())
            if request.transport is not None:
                request.transport.close()
            return response
        await response.write_eof()
        return response


def _range(case: object, since: object) -> ExportRange:
    """The range a token names; a signed token always names one (else: LinkError)."""
    ref = None
    if case is not None:
        number = parse_case_ref(case) if isinstance(case, str) else None
        if number is None:
            raise LinkError("This link is not valid.")
        ref = case_ref(number)
    if since is None:
        return ExportRange(ref, None)
    try:
        moment = datetime.fromisoformat(since) if isinstance(since, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise LinkError("This link is not valid.")
    return ExportRange(ref, moment)


def export_filename(wanted: ExportRange, now: datetime) -> str:
    """audit-export[-EXC-000001][-since-20260131]-20260302T090000Z.jsonl"""
    parts = ["audit-export"]
    if wanted.case:
        parts.append(wanted.case)
    if wanted.since:
        parts.append(f"since-{wanted.since:%Y%m%d}")
    parts.append(f"{now.astimezone(UTC):%Y%m%dT%H%M%SZ}")
    return "-".join(parts) + ".jsonl"
