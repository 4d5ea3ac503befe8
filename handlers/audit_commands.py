"""The auditors' chat commands (`/audit verify`, `/audit export`): frozen, platform-free.
What they do is in handlers.audit_chat."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, slots=True)
class AuditVerify:
    pass


@dataclass(frozen=True, slots=True)
class AuditExport:
    """The audit log, or a part of it: one case's events, events since a day (midnight UTC)
    or of the last `days` days (counted back from now when the command runs)."""

    case_id: int | None = None
    since: date | None = None
    days: int | None = None


AuditCommand = AuditVerify | AuditExport
AUDIT_COMMANDS = (AuditVerify, AuditExport)
