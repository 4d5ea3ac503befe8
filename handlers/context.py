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
