"""What the scheduler runs with every overdue sweep besides the steps: the daily digest (first,
so that whoever gets today's digest is spared the step reminders it covers) and the
remediation items' reminders and escalation. Neither raises: failures are logged and the next
sweep tries again."""

from __future__ import annotations

import logging
from datetime import timedelta

from handlers.context import Services
from handlers.digest import send_digests
from handlers.remediation_sweep import sweep_remediation

log = logging.getLogger(__name__)


async def digests_first(svc: Services) -> int:
    """Queue today's digests if their time has come; how many."""
    try:
        return await send_digests(svc)
    except Exception:
        log.exception("the daily digest failed; the next sweep tries again")
        return 0


async def side_sweeps(svc: Services, owner: str, lease: timedelta, batch: int) -> int:
    """Remind and escalate due remediation items until no full batch is left; how many."""
    acted = 0
    try:
        while (done := await sweep_remediation(svc, owner, lease, batch)) >= batch:
            acted += done
        return acted + done
    except Exception:
        log.exception("the remediation sweep failed; the next sweep tries again")
        return acted
