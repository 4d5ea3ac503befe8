"""Who is acting: a person of the policy, or a system (the intake API, the scheduler)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
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


INTAKE_PREFIX = "system:intake:"


def intake(source: str) -> Actor:
    """The source system (an ERP, a supplier feed) acting through the intake API."""
    return Actor(f"{INTAKE_PREFIX}{source}", "api")


WORKFLOW = Actor.system("workflow")
POLICY = Actor.system("policy")
SCHEDULER = Actor.system("scheduler")
