"""What one handler filing writes, learned by filing through the handler and reading it back.

`probe` files one request of each variant into a fresh database and returns, per variant, a
`CaseTemplate`: the policy-derived part of the rows (status, rules, steps, approvers, audit
events, messages), which the raw-SQL floor copies instead of evaluating the policy. It also
learns the policy's aggregates and the code's remediation threshold (what the floor's reads
need), and, filing on until the threshold's item opens, what that opening writes. And it counts
the SQL statements (on the writer thread's connection) and the hops to other threads of one
filing in the steady state (the audit head exists, the remediation item is open).
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bench.intake_templates import (
    AGGREGATES_MARK,
    EVIDENCE_MARK,
    HASH_MARK,
    ITEM_ID_MARK,
    ITEM_MARK,
    REF_MARK,
    REQUEST_MARK,
    AggregateTemplate,
    CaseTemplate,
    EventTemplate,
    MessageTemplate,
    OpeningTemplate,
    RemediationTemplate,
    StepTemplate,
)
from bench.intake_workload import (
    ACTOR,
    START,
    VARIANTS,
    clock_at,
    migrated,
    parse_sql_time,
    raw_request,
)
from bench.tracing import StatementTrace, round_trips, trace_writes, unit_hops
from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Services
from handlers.filing import file_exception
from policy.aggregates import NAMED_CASES
from policy.loader import load_policy
from policy.model import Policy
from policy.remediation import item_ref, remediation_for
from policy.request import ExceptionRequest
from storage.audit import canonical_json
from storage.database import Database
from storage.records import case_ref

WRITTEN = ("cases", "steps", "assignments", "audit_events", "audit_head", "outbox")


def _template(db: sqlite3.Connection, case_id: int) -> CaseTemplate:
    ref = case_ref(case_id)
    row = db.execute(
        "SELECT status, outcome, rules, skipped_rules, flags, rationale_required, policy_version,"
        " closed_at, created_at, due_at, basis, request, request_hash FROM cases WHERE id = ?",
        (case_id,),
    ).fetchone()
    people: dict[int, list[str]] = {}
    for step_id, person in db.execute(
        "SELECT step_id, person FROM assignments WHERE case_id = ? ORDER BY step_id, ordinal",
        (case_id,),
    ):
        people.setdefault(step_id, []).append(person)
    steps: list[StepTemplate] = []
    position_of: dict[int, int] = {}
    for (
        step_id,
        position,
        tier,
        mode,
        required,
        status,
        opened_at,
        due_at,
        next_action,
    ) in db.execute(
        "SELECT id, position, tier, mode, required, status, opened_at, due_at, next_action_at"
        " FROM steps WHERE case_id = ? ORDER BY position",
        (case_id,),
    ):
        position_of[step_id] = position
        due_after = None
        if opened_at is not None:
            if opened_at != row[8]:
                raise SystemExit("a step opened at another time than its case: extend the floor")
            due_after = parse_sql_time(due_at) - parse_sql_time(opened_at)
        approvers = tuple(people.get(step_id, ()))
        next_after = None
        if next_action is not None:
            next_after = parse_sql_time(next_action) - parse_sql_time(row[8])
        steps.append(
            StepTemplate(position, tier, mode, required, status, due_after, approvers, next_after)
        )
    request_json = canonical_json(json.loads(row[11]))
    events = [
        EventTemplate(
            actor,
            action,
            None if step_id is None else position_of[step_id],
            rationale,
            version,
            platform,
            _mark_aggregates(data).replace(request_json, REQUEST_MARK).replace(row[12], HASH_MARK),
        )
        for actor, action, step_id, rationale, version, platform, data in db.execute(
            "SELECT actor, action, step_id, rationale, policy_version, platform, data"
            " FROM audit_events WHERE case_ref = ? ORDER BY seq",
            (ref,),
        )
    ]
    messages = [
        MessageTemplate(kind, recipient, payload.replace(ref, REF_MARK), status, attempts)
        for kind, recipient, payload, status, attempts in db.execute(
            "SELECT kind, recipient, payload, status, attempts FROM outbox"
            " WHERE case_id = ? ORDER BY id",
            (case_id,),
        )
    ]
    return CaseTemplate(
        status=row[0],
        outcome=row[1],
        rules=row[2],
        skipped_rules=row[3],
        flags=row[4],
        rationale_required=row[5],
        policy_version=row[6],
        closed=row[7] is not None,
        due_after=None if row[9] is None else parse_sql_time(row[9]) - parse_sql_time(row[8]),
        basis=row[10],
        steps=tuple(steps),
        events=tuple(events),
        messages=tuple(messages),
    )


def _mark_aggregates(data_json: str) -> str:
    """The event's data with AGGREGATES_MARK for its `aggregates` value (the probe's cases saw
    other totals than the run's will)."""
    data = json.loads(data_json)
    if not isinstance(data, dict) or "aggregates" not in data:
        return data_json
    part = f'"aggregates":{canonical_json(data["aggregates"])}'
    if data_json.count(part) != 1:
        raise SystemExit("cannot find the aggregates in the event's data: extend the probe")
    return data_json.replace(part, f'"aggregates":{AGGREGATES_MARK}')


def _aggregates(policy: Policy) -> tuple[AggregateTemplate, ...]:
    return tuple(
        AggregateTemplate(a.id, a.window, (*a.match, "currency"), NAMED_CASES)
        for a in policy.aggregates
    )


def _opening(db: sqlite3.Connection) -> OpeningTemplate | None:
    """The first remediation item's row, event and messages, if one opened."""
    row = db.execute(
        "SELECT id, owner, opened_at, due_at, next_action_at, evidence, per_value"
        " FROM remediation_items ORDER BY id LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    item_id, owner, opened_at, due_at, next_action, evidence_json, per_value = row
    if per_value is not None:
        raise SystemExit("a remediation item counted per supplier or cost center: extend the floor")
    evidence = json.loads(evidence_json)
    ref = item_ref(item_id)
    (event,) = [
        EventTemplate(actor, action, None, rationale, version, platform, data)
        for actor, action, rationale, version, platform, data in db.execute(
            "SELECT actor, action, rationale, policy_version, platform, data"
            " FROM audit_events WHERE case_ref = ? ORDER BY seq",
            (ref,),
        )
    ]
    marked = event.data_json.replace(canonical_json(evidence), EVIDENCE_MARK)
    if EVIDENCE_MARK not in marked:
        raise SystemExit("cannot find the evidence in remediation.opened's data: extend the probe")
    by_id = f'"remediation_id": {item_id}'  # as SQLAlchemy's JSON type writes it
    messages = tuple(
        MessageTemplate(
            kind,
            recipient,
            payload.replace(ref, ITEM_MARK).replace(by_id, f'"remediation_id": {ITEM_ID_MARK}'),
            status,
            attempts,
        )
        for kind, recipient, payload, status, attempts in db.execute(
            "SELECT kind, recipient, payload, status, attempts FROM outbox"
            " WHERE case_id IS NULL AND created_at = ? ORDER BY id",
            (opened_at,),
        )
    )
    opened = parse_sql_time(opened_at)
    return OpeningTemplate(
        opened_at=opened,
        owner=owner,
        due_after=parse_sql_time(due_at) - opened,
        next_action_after=None if next_action is None else parse_sql_time(next_action) - opened,
        playbook=evidence.get("playbook"),
        event=EventTemplate(
            event.actor,
            event.action,
            None,
            event.rationale,
            event.policy_version,
            event.platform,
            marked,
        ),
        messages=messages,
    )


def _threshold(policy: Policy, code: str) -> tuple[int, timedelta] | None:
    """The code's remediation threshold (after, within), as `open_if_due` finds it."""
    rule = remediation_for(policy, code)
    entry = policy.taxonomy.get(code)
    if rule is None or entry is None or entry.owner is None:
        return None
    if rule.per is not None:
        raise SystemExit("remediation counted per supplier or cost center: extend the floor")
    return rule.after, rule.within


@dataclass(frozen=True, slots=True)
class Probe:
    rows: dict[str, int]  # rows per table after the first filing into an empty database
    templates: tuple[CaseTemplate, ...]  # one per request variant
    aggregates: tuple[AggregateTemplate, ...]  # the policy's, read by every filing
    remediation: RemediationTemplate | None  # None: the code has no remediation threshold
    opening_rows: dict[str, int]  # what the filing that opens the item adds, per table
    steady: int  # the filing (from 0) traced: the last, with the head there, the item open
    statements: Counter[str]  # SQL statements of that filing
    hops: Counter[str]  # units of work it handed to storage's SQLite threads
    trips: Counter[str]  # calls it handed to the aiosqlite thread


async def probe(workdir: Path, policy_file: Path, cases: int) -> Probe:
    """File one request of each variant through the handler, and on (up to `cases`) until the
    code's remediation item opens, then once more; read back what it wrote."""
    path = workdir / "probe.db"
    db = await migrated(path)
    trace = StatementTrace()
    traced = await trace_writes(db, trace)
    policy = load_policy(policy_file)
    clock = ManualClock(START)
    services = Services(db, policy, clock)
    code = str(raw_request(0)["code"])
    threshold = _threshold(policy, code)
    filings = len(VARIANTS) + 1  # the last one in the steady state
    if threshold is not None and threshold[0] <= cases:
        filings = max(filings, threshold[0] + 1)
    first: dict[str, int] = {}
    variants: dict[str, int] = {}
    before: dict[str, int] = {}
    opening_rows: dict[str, int] = {}
    hops: Counter[str] = Counter()
    trips: Counter[str] = Counter()
    try:
        for i in range(filings):
            clock.set(clock_at(i))
            cmd = FileException(ExceptionRequest.model_validate(raw_request(i)))
            trace.on = True
            with round_trips() as trips, unit_hops(db) as hops:
                result = await file_exception(services, ACTOR, cmd)
            trace.on = False
            statements = trace.take()
            assert result.created
            counts = await _row_counts(db)
            if i == 0:
                first = counts
            if i == len(VARIANTS) - 1:
                variants = counts
            if counts["remediation_items"] and not opening_rows:
                usual = {t: 0 if t == "audit_head" else n for t, n in first.items()}
                opening_rows = {t: n - before.get(t, 0) - usual[t] for t, n in counts.items()}
            before = counts
    finally:
        await db.dispose()
    with sqlite3.connect(path) as plain:
        templates = tuple(_template(plain, i + 1) for i in range(len(VARIANTS)))
        opening = _opening(plain)
    plain.close()
    for table in WRITTEN:
        expected = 1 if table == "audit_head" else first[table] * len(VARIANTS)
        if variants[table] != expected:
            raise SystemExit(f"the variants write different row counts into {table}")
    for template in templates:
        if template.outcome != "route" or not 1 <= len(template.steps) <= 2:
            raise SystemExit(
                f"the benchmark request must take a routed path with 1-2 steps under "
                f"{policy_file}; it got outcome {template.outcome} with "
                f"{len(template.steps)} steps"
            )
    remediation = None
    if threshold is not None:
        remediation = RemediationTemplate(code, threshold[0], threshold[1], opening)
    if not traced:
        statements = Counter()  # the writes ran where the trace could not be hooked
    return Probe(
        first,
        templates,
        _aggregates(policy),
        remediation,
        {t: n for t, n in opening_rows.items() if n},
        filings - 1,
        statements,
        hops,
        trips,
    )


async def _row_counts(db: Database) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with db.engine.connect() as conn:
        for table in (*WRITTEN, "remediation_items"):
            result = await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")
            counts[table] = int(result.scalar_one())
    return counts
