"""The data an audit event carries: one closed set of named, typed fields.

Writers build an `AuditData` (only the fields their kind has) and store `to_json()`, which
is what the hash chain covers; readers (the card's history, exports) get it back with
`read`, which keeps what it recognises and drops anything malformed, so an event written by
an older version reads as well as it can and a reader never guesses at keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Field name -> the key it is stored under, where they differ (`from` is a Python keyword).
_KEYS = {"from_": "from"}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditData:
    tier: str | None = None  # the tier of the step the event is about
    # People: who a step opened for, was reminded, escalated for; who it went from and to.
    approvers: tuple[str, ...] | None = None
    managers: tuple[str, ...] | None = None  # an escalation: who may now decide on behalf
    from_: tuple[str, ...] | None = None
    to: tuple[str, ...] | None = None
    required: int | None = None  # approvals the step needs
    wanted: int | None = None  # approvals its tier asks for
    reminder: int | None = None  # which reminder this is
    after_reminders: int | None = None
    note: str | None = None
    level: int | None = None  # how many times the step has timed out and been rerouted
    on_timeout: str | None = None  # escalate | approve | reject | expire
    rerouted: bool | None = None
    on_behalf_of: str | None = None  # a vote cast for an approver by a delegate or manager
    as_manager: bool | None = None
    attempted: str | None = None  # a refused press: what was attempted
    reason: str | None = None  # a refusal: why
    previous_status: str | None = None
    requester: str | None = None
    # What was filed and approved: case.filed carries the normalized request and its
    # SHA-256; every decision carries the hash of the content it decided on.
    request: Mapping[str, Any] | None = None
    request_hash: str | None = None
    case_hash: str | None = None
    # policy.imported: the version that became active, the one it superseded, the file
    version: str | None = None
    superseded: str | None = None
    source: str | None = None
    policy_ref: str | None = None  # POL-000003
    diff_hash: str | None = None  # SHA-256 of the diff that was proposed and approved
    # audit.checkpoint: the head of the chain that was sent to the auditors; audit.exported:
    # the last event before the export's own record (the export holds both), and its filters
    seq: int | None = None
    hash: str | None = None
    since: str | None = None
    of_case: str | None = None
    # policy.evaluated: what policy made of the request
    outcome: str | None = None
    basis: str | None = None
    fired: tuple[str, ...] | None = None
    skipped: tuple[str, ...] | None = None
    flags: tuple[str, ...] | None = None
    route: tuple[Mapping[str, Any], ...] | None = None
    # the policy's aggregates for the request: {id: {"amount", "count", "cases": [ids]}}
    aggregates: Mapping[str, Any] | None = None
    # person.away
    until: str | None = None
    delegate: str | None = None
    platform_user: str | None = None  # the platform's own id of who acted
    author: str | None = None  # a source system's note: who wrote it there (free text)
    # case.amended: each changed field ({"field", "before", "after"}), whether the approvals
    # given still stand (not `material`) and why not, the source's revision
    changes: tuple[Mapping[str, Any], ...] | None = None
    material: bool | None = None
    reasons: tuple[str, ...] | None = None
    revision: int | None = None
    # remediation.*: the code, the key it was counted per, its owner, when it is due and
    # what was counted (`policy.remediation.Evidence`)
    code: str | None = None
    per_field: str | None = None
    per_value: str | None = None
    owner: str | None = None
    due_at: str | None = None
    evidence: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The fields that are set, as JSON values under their stored keys."""
        out: dict[str, Any] = {}
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = [dict(v) if isinstance(v, Mapping) else v for v in value]
            elif isinstance(value, Mapping):
                value = dict(value)
            out[_KEYS.get(item.name, item.name)] = value
        return out

    @staticmethod
    def read(data: Mapping[str, Any]) -> AuditData:
        """The fields of stored event data; a value of the wrong type is left out."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(AuditData):
            raw = data.get(_KEYS.get(item.name, item.name))
            value = _typed(str(item.type), raw)
            if value is not None:
                values[item.name] = value
        return AuditData(**values)


def _typed(annotation: str, raw: Any) -> Any:
    """`raw` if it fits `annotation` (one of the few this class uses), else None."""
    if raw is None:
        return None
    if annotation.startswith("Mapping"):
        return raw if isinstance(raw, Mapping) else None
    if annotation.startswith("tuple[Mapping"):
        ok = isinstance(raw, list) and all(isinstance(v, Mapping) for v in raw)
        return tuple(raw) if ok else None
    if annotation.startswith("tuple[str"):
        ok = isinstance(raw, list) and all(isinstance(v, str) for v in raw)
        return tuple(raw) if ok else None
    if annotation.startswith("bool"):
        return raw if isinstance(raw, bool) else None
    if annotation.startswith("int"):
        return raw if isinstance(raw, int) and not isinstance(raw, bool) else None
    return raw if isinstance(raw, str) else None
