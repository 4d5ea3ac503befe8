"""What every use case needs, built once by the composition root."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.clock import Clock
from policy.model import Policy
from storage.database import Database


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting: a person of the policy, or a system (the intake API, the scheduler)."""

    id: str  # a person id, or "system:<name>"
    platform: str  # console | slack | teams | api | system
    platform_user: str | None = None  # the platform's own id (Slack U..., Teams 29:...)

    def trace(self) -> dict[str, str]:
        """Audit data naming the platform account that acted, when there is one."""
        return {"platform_user": self.platform_user} if self.platform_user else {}

    @property
    def is_person(self) -> bool:
        return not self.id.startswith("system:")

    @staticmethod
    def system(name: str, platform: str = "system") -> Actor:
        return Actor(f"system:{name}", platform)


@dataclass(slots=True)
class Services:
    db: Database
    policy: Policy
    clock: Clock
