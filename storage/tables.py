"""The schema, as SQLAlchemy Core tables. Migrations (storage/migrations) create it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from storage.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

_OPEN_ITEM = "status IN ('open', 'acknowledged')"


def _where(condition: str) -> dict[str, Any]:
    """A partial index's condition, for both engines."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


cases = Table(
    "cases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("status", String(16), nullable=False),
    Column("code", String(64), nullable=False),
    Column("title", String(300), nullable=False),
    Column("requester", String(64), nullable=False),
    Column("amount", Float, nullable=True),
    Column("currency", String(3), nullable=True),
    Column("request", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("rules", JSON, nullable=False),
    Column("skipped_rules", JSON, nullable=False),
    Column("flags", JSON, nullable=False),
    Column("rationale_required", Boolean, nullable=False),
    Column("policy_version", String(64), nullable=False),
    Column("source", String(64), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("idempotency_key", String(200), nullable=True, unique=True),
    Column("request_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("version", Integer, nullable=False),
    Column("due_at", UTCDateTime, nullable=True),  # the taxonomy code's SLA for the case
    Column("basis", String(16), nullable=False, server_default="rules"),  # rules|default|withheld
    UniqueConstraint("source", "external_id"),
    Index(None, "requester", "status"),
    Index(None, "status"),
    Index(None, "created_at", "id"),  # the intake API's listing, newest first (keyset)
    # A requester's recent cases: what an aggregate matching `requester` scans on every
    # filing, instead of every case filed in its window.
    Index(None, "requester", "created_at"),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("tier", String(64), nullable=False),
    Column("mode", String(16), nullable=False),
    Column("required", Integer, nullable=False),
    Column("status", String(16), nullable=False),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("policy_version", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    # The overdue sweep: when this open step next needs attention (a reminder, escalation or
    # timeout), how far along its plan it is, and which sweeper holds it for a while.
    Column("next_action_at", UTCDateTime, nullable=True),
    Column("reminders_sent", Integer, nullable=False, server_default=text("0")),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("timeout_level", Integer, nullable=False, server_default=text("0")),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    # Reminders count from here (the opening, a reroute, an answer to a question).
    Column("clock_started_at", UTCDateTime, nullable=True),
    # Who had the step and let it time out: a reroute or escalation never goes back to them.
    Column("former_approvers", JSON, nullable=False, server_default="[]"),
    UniqueConstraint("case_id", "position"),
    Index(None, "status", "due_at"),
    # The sweep's lookup: its cost follows the steps that are due, not the steps that are open.
    Index(None, "status", "next_action_at"),
)

# Who may act on a step, in the order the route named them. A row per person keeps
# "what is waiting for me" one indexed lookup.
assignments = Table(
    "assignments",
    metadata,
    Column("step_id", Integer, ForeignKey("steps.id"), primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Index(None, "person"),
    Index(None, "case_id"),  # a case's assignments, without scanning everyone's
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("step_id", Integer, ForeignKey("steps.id"), nullable=False),
    Column("person", String(64), nullable=False),
    Column("on_behalf_of", String(64), nullable=True),
    Column("action", String(16), nullable=False),
    Column("rationale", Text, nullable=True),
    Column("platform", String(16), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    UniqueConstraint("step_id", "person"),
    Index(None, "case_id"),
)

# Append-only: the migration installs triggers that refuse UPDATE and DELETE.
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("case_ref", String(32), nullable=True),
    Column("step_id", Integer, nullable=True),
    Column("rationale", Text, nullable=True),
    Column("policy_version", String(64), nullable=True),
    Column("platform", String(16), nullable=True),
    Column("data", Text, nullable=False),  # canonical JSON, hashed byte for byte
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index(None, "case_ref"),
    Index(None, "at"),
)

# One row: the newest event's seq and hash. Verification also checks it, which catches
# a chain whose tail was cut off.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=True),
    Column("recipient", String(64), nullable=True),
    Column("payload", JSON, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    # A deliverer claims messages for a while, so replicas never send the same one at once;
    # a crashed deliverer's claim simply runs out.
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Index(None, "status", "next_attempt_at"),
)

# Where each person's card for a case lives on a platform, so updates edit it in place.
card_refs = Table(
    "card_refs",
    metadata,
    Column("case_id", Integer, ForeignKey("cases.id"), primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("channel", String(200), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Who is away, until when, and who takes their approvals meanwhile. Rows are kept when an
# absence ends (`ended_at`), as a record of who stood in for whom.
absences = Table(
    "absences",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("person", String(64), nullable=False),
    Column("until", UTCDateTime, nullable=False),  # the first moment they are back
    Column("delegate", String(64), nullable=False),
    Column("set_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("ended_at", UTCDateTime, nullable=True),
    Index(None, "person"),
    Index(None, "until"),
)

# Where the bot can reach a Teams user (see storage.conversations).
teams_conversations = Table(
    "teams_conversations",
    metadata,
    Column("user_id", String(200), primary_key=True),  # the Teams user id, "29:..."
    Column("person", String(64), nullable=True),  # the policy person, when known
    Column("service_url", String(500), nullable=False),
    Column("conversation_id", String(500), nullable=False),
    Column("tenant_id", String(64), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Index(None, "person"),
)

# Every policy version: its YAML text (so the policy behind any decision can be read), how it
# came (the file at start-up, or chat), who made and approved it, and its state. Exactly one
# is `active`; the others are draft, proposed, superseded or rejected.
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("version", String(64), nullable=False),  # the content hash (policy.version)
    Column("text", Text, nullable=False),
    Column("origin", String(16), nullable=False),  # file | chat
    Column("source", String(500), nullable=False),  # the file's path, or "chat"
    Column("state", String(16), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("approved_by", String(64), nullable=True),
    Column("approved_at", UTCDateTime, nullable=True),
    Column("reason", Text, nullable=True),
    Index(None, "state"),
    # Writers run side by side on PostgreSQL: these keep "one active", "one draft each".
    Index("uq_policy_versions_one_active", "state", unique=True, **_where("state = 'active'")),
    Index("uq_policy_versions_one_draft", "created_by", unique=True, **_where("state = 'draft'")),
)

# Where each admin's card of a policy proposal lives on a platform, so that a decision (or a
# later version superseding it) edits every copy in place.
policy_card_refs = Table(
    "policy_card_refs",
    metadata,
    Column("version_id", Integer, ForeignKey("policy_versions.id"), primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("channel", String(200), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# Webhooks to source systems, written in the same transaction as the change they announce.
# `payload` is the exact body (JSON text), so every attempt sends the same bytes under the
# same `message_id` (the `webhook-id` header). Claims work as the outbox's do.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("message_id", String(64), nullable=False, unique=True),
    Column("case_id", Integer, ForeignKey("cases.id"), nullable=False),
    Column("endpoint", String(64), nullable=False),  # the source's name, or "default"
    Column("url", String(2000), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),  # pending|delivered|failed|disabled
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # Retried until then: 3 days after it was enqueued, or after `redeliver` queued it again.
    Column("retry_until", UTCDateTime, nullable=False),
    Column("last_status", Integer, nullable=True),  # the last HTTP status answered
    Column("last_error", Text, nullable=True),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Column("delivered_at", UTCDateTime, nullable=True),
    Index(None, "status", "next_attempt_at"),
    Index(None, "case_id", "status"),  # the oldest pending message of a case
)

# Endpoints that answered 410 Gone: their messages wait (disabled) until redelivered.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("key", String(64), primary_key=True),  # as webhook_deliveries.endpoint
    Column("url", String(2000), nullable=False),
    Column("disabled_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
)

# Remediation items (REM-000001): a code that keeps coming back, for its owner to fix at the
# root. `per_field`/`per_value` are the key it was counted per (both None: the code alone);
# the sweep's columns work as the steps' do; `version` is for compare-and-set.
remediation_items = Table(
    "remediation_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False),
    Column("per_field", String(32), nullable=True),
    Column("per_value", String(300), nullable=True),
    Column("owner", String(64), nullable=False),
    Column("status", String(16), nullable=False),  # open | acknowledged | closed
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("next_action_at", UTCDateTime, nullable=True),
    Column("reminders_sent", Integer, nullable=False, server_default=text("0")),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledged_by", String(64), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("closed_by", String(64), nullable=True),
    Column("root_cause", Text, nullable=True),
    Column("evidence", JSON, nullable=False),  # cases, suppliers, cost centers, leakage, playbook
    Column("version", Integer, nullable=False),
    Column("claimed_until", UTCDateTime, nullable=True),
    Column("claimed_by", String(64), nullable=True),
    Index(None, "code", "per_value", "status"),  # the key's open item, its last close
    Index(None, "status", "next_action_at"),  # the sweep's lookup
    Index(None, "owner", "status"),
    # One open item per code and key, however many filings reach the threshold at once.
    Index(
        "uq_remediation_items_open_key",
        "code",
        "per_value",
        unique=True,
        **_where(f"{_OPEN_ITEM} AND per_value IS NOT NULL"),
    ),
    Index(
        "uq_remediation_items_open_code",
        "code",
        unique=True,
        **_where(f"{_OPEN_ITEM} AND per_value IS NULL"),
    ),
)

# Where each person's card of a remediation item lives on a platform, to update it in place.
remediation_card_refs = Table(
    "remediation_card_refs",
    metadata,
    Column("item_id", Integer, ForeignKey("remediation_items.id"), primary_key=True),
    Column("person", String(64), primary_key=True),
    Column("platform", String(16), primary_key=True),
    Column("channel", String(200), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# One daily digest per person per local business day, however many replicas send it.
digests_sent = Table(
    "digests_sent",
    metadata,
    Column("person", String(64), primary_key=True),
    Column("day", String(10), primary_key=True),  # the local date, 2026-03-02
    Column("sent_at", UTCDateTime, nullable=False),
)
