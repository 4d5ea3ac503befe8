"""Small builders shared by the policy tests."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from policy.loader import parse_policy
from policy.model import ApprovalMode, Person, Policy, Role, Tier
from policy.request import ExceptionRequest

EXAMPLE = Path(__file__).parents[2] / "policy" / "examples" / "acme.yaml"

# A small valid policy; tests break it on purpose with `str.replace`.
VALID = """\
name: Test policy
people:
  - id: dana
    name: Dana Reyes
    email: dana@acme.example
    slack: U0DANA
    teams: "29:1dana"
    manager: maria
  - id: maria
    name: Maria Okafor
    email: maria@acme.example
    roles: [admin]
  - id: lee
    name: Lee Park
    email: lee@acme.example
    manager: dana
groups:
  leads: [dana, lee]
taxonomy:
  - code: PRICE_MISMATCH
    title: Invoice price differs from the PO
    owner: lee
    sla: 1d
tiers:
  - id: lead
    approvers: [group:leads]
    mode: any
    sla: 4h
    backup: [maria]
  - id: director
    approvers: [maria]
    sla: 1d
rules:
  - id: high-value
    when: amount > 25000.0
    route: [lead, director]
defaults:
  route: [lead]
"""

# Three tiers and three people, for trying rule combinations.
RULES_BASE = """\
name: Rules policy
people:
  - {id: rita, name: Rita Requester, email: rita@acme.example}
  - {id: lee, name: Lee Park, email: lee@acme.example}
  - {id: dana, name: Dana Reyes, email: dana@acme.example}
  - {id: maria, name: Maria Okafor, email: maria@acme.example}
taxonomy:
  - {code: PRICE_MISMATCH, title: Invoice price differs from the PO}
  - {code: OFF_CONTRACT, title: Purchase from a supplier without a contract}
tiers:
  - {id: t1, approvers: [lee], sla: 4h}
  - {id: t2, approvers: [dana], sla: 1d}
  - {id: t3, approvers: [maria], sla: 2d}
defaults:
  route: [t1]
rules:
"""


def with_rules(rules: str) -> Policy:
    """RULES_BASE with `rules` (YAML list items, indented two spaces) as its rules."""
    return parse_policy(RULES_BASE + rules, "rules.yaml")


def request(**fields: Any) -> ExceptionRequest:
    data: dict[str, Any] = {"code": "OFF_CONTRACT", "title": "Laptops", "requester": "rita"}
    data.update(fields)
    return ExceptionRequest.model_validate(data)


def line_of(text: str, snippet: str) -> int:
    """1-based line of the first line of `text` containing `snippet`."""
    for number, line in enumerate(text.splitlines(), 1):
        if snippet in line:
            return number
    raise AssertionError(f"{snippet!r} is not in the text")


def person(
    person_id: str,
    *,
    manager: str | None = None,
    delegate: str | None = None,
    roles: frozenset[Role] = frozenset(),
) -> Person:
    name = person_id.capitalize()
    return Person(
        person_id,
        f"{name} Test",
        f"{person_id}@acme.example",
        manager=manager,
        delegate=delegate,
        roles=roles,
    )


def tier(
    tier_id: str,
    approvers: tuple[str, ...],
    mode: ApprovalMode | None = None,
    backup: tuple[str, ...] = (),
) -> Tier:
    return Tier(tier_id, approvers, mode or ApprovalMode.any(), timedelta(hours=4), backup=backup)


def build_policy(
    people: list[Person],
    tiers: tuple[Tier, ...] = (),
    groups: dict[str, tuple[str, ...]] | None = None,
) -> Policy:
    """A Policy built in Python, for routing and segregation-of-duties tests."""
    return Policy(
        name="Built",
        version="v-test",
        source="built",
        people={p.id: p for p in people},
        groups=groups or {},
        taxonomy={},
        tiers=tiers,
        rules=(),
        default_route=tuple(t.id for t in tiers[:1]),
    )
