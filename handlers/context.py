"""What every use case needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.clock import Clock
from policy.actor import Actor as Actor
from policy.model import Policy
from storage.database import Database


@dataclass(slots=True)
class Services:
    db: Database
    policy: Policy
    clock: Clock
    # Where a case's webhooks go when its source has no endpoint in the policy
    # (APPROVALS_WEBHOOK_URL); None: nowhere. The secret is read only when sending.
    default_webhook_url: str | None = None
