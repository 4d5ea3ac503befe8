"""The policy version: a SHA-256 of what the policy means, not of how the file is written.

The validated policy is re-serialized as canonical JSON (sorted keys, no whitespace) and
hashed. Comments, key order, quoting, YAML style, the order of people and taxonomy entries,
spacing inside CEL conditions and equivalent durations (60m, 1h) leave the version alone;
any change to what a request would meet changes it. Tier order and rule order count.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from policy.calendar import DAY_NAMES
from policy.celscan import tokenize
from policy.model import Amendments, Policy, Remediation


def policy_version(policy: Policy) -> str:
    """SHA-256 hex of `policy`'s content (its `version`, `source` and programs excluded)."""
    return hashlib.sha256(canonical_json(policy_content(policy)).encode()).hexdigest()


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def policy_content(policy: Policy) -> dict[str, Any]:
    content = _content(policy)
    if policy.calendar is not None:  # absent from older files: their versions stay the same
        calendar = policy.calendar
        content["calendar"] = {
            "timezone": calendar.timezone,
            "days": [DAY_NAMES[day] for day in sorted(calendar.days)],
            "hours": calendar.hours,
            "holidays": sorted(day.isoformat() for day in calendar.holidays),
        }
    if policy.aggregates:  # likewise
        content["aggregates"] = [
            {"id": a.id, "window": a.window.total_seconds(), "match": list(a.match)}
            for a in policy.aggregates
        ]
    if policy.sources:  # likewise
        content["sources"] = {
            s.name: {"webhook_url": s.webhook_url, "secret_env": s.secret_env}
            for s in policy.sources.values()
        }
    if policy.remediation is not None:  # likewise
        content["remediation"] = _remediation(policy.remediation)
    for entry in policy.taxonomy.values():  # likewise, per code
        if entry.remediation is not None:
            content["taxonomy"][entry.code]["remediation"] = _remediation(entry.remediation)
    if policy.digest is not None:  # likewise
        content["digest"] = {"at": policy.digest.at.strftime("%H:%M")}
    if policy.amendments != Amendments():  # likewise
        content["amendments"] = {"amount_tolerance_pct": policy.amendments.amount_tolerance_pct}
    return content


def _content(policy: Policy) -> dict[str, Any]:
    return {
        "name": policy.name,
        "people": {
            p.id: {
                "name": p.name,
                "email": p.email,
                "slack": p.slack,
                "teams": p.teams,
                "aad": p.aad,
                "manager": p.manager,
                "delegate": p.delegate,
                "roles": sorted(p.roles),
            }
            for p in policy.people.values()
        },
        "groups": {name: list(members) for name, members in policy.groups.items()},
        "taxonomy": {
            t.code: {
                "title": t.title,
                "owner": t.owner,
                "playbook": t.playbook,
                "sla": _seconds(t.sla),
            }
            for t in policy.taxonomy.values()
        },
        "tiers": [
            {
                "id": t.id,
                "approvers": list(t.approvers),
                "mode": str(t.mode),
                "sla": _seconds(t.sla),
                "remind_every": _seconds(t.remind_every),
                "escalate_after": t.escalate_after,
                "on_timeout": str(t.on_timeout),
                "backup": list(t.backup),
            }
            for t in policy.tiers
        ],
        "rules": [
            {
                "id": r.id,
                # Tokens joined by one space: layout and CEL comments do not count.
                "when": " ".join(token.text for token in tokenize(r.when)),
                "route": list(r.route),
                "outcome": None if r.outcome is None else str(r.outcome),
                "ref": r.ref,
                "url": r.url,
                "flags": list(r.flags),
                "rationale_required": r.rationale_required,
            }
            for r in policy.rules
        ],
        "default_route": list(policy.default_route),
    }


def _remediation(rule: Remediation) -> dict[str, Any]:
    return {
        "after": rule.after,
        "within": _seconds(rule.within),
        "sla": _seconds(rule.sla),
        "per": rule.per,
        "remind_every": _seconds(rule.remind_every),
        "escalate_after": rule.escalate_after,
    }


def _seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())
