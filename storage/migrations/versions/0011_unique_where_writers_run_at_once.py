"""unique indexes where writers run at once, and the server-side audit append

PostgreSQL writers no longer queue for one lock, so what "look, then write" kept single is
now kept by unique indexes: one active policy version; one draft per admin; one open (or
acknowledged) remediation item per code and key (two partial indexes, as NULL keys are
distinct in a unique index). And on PostgreSQL the function that appends to the audit chain
in the server, lock included, so the lock is held for no client round trip
(storage.audit_server).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_OPEN = "status IN ('open', 'acknowledged')"

# (name, table, columns, where)
INDEXES = (
    ("uq_policy_versions_one_active", "policy_versions", ["state"], "state = 'active'"),
    ("uq_policy_versions_one_draft", "policy_versions", ["created_by"], "state = 'draft'"),
    (
        "uq_remediation_items_open_key",
        "remediation_items",
        ["code", "per_value"],
        f"{_OPEN} AND per_value IS NOT NULL",
    ),
    (
        "uq_remediation_items_open_code",
        "remediation_items",
        ["code"],
        f"{_OPEN} AND per_value IS NULL",
    ),
)


# The audit chain appended in the server (storage.audit_server), lock included; 1635083369 is
# storage.audit.CHAIN_LOCK (0x61756469). A later change is a new migration (CREATE OR REPLACE).
CREATE_FUNCTION = """
CREATE OR REPLACE FUNCTION approvals_append_audit(events json) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    head_seq integer;
    head_hash text;
    e json;
    digest text;
BEGIN
    PERFORM pg_advisory_xact_lock(1635083369);  -- CHAIN_LOCK: held to the commit
    SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1;
    IF head_seq IS NULL THEN
        head_seq := 0;
        head_hash := repeat('0', 64);
    END IF;
    FOR e IN SELECT value FROM json_array_elements(events) LOOP
        head_seq := head_seq + 1;
        digest := encode(sha256(convert_to(
            head_hash || (e->>'before') || head_seq::text || (e->>'after'), 'UTF8')), 'hex');
        INSERT INTO audit_events (seq, at, actor, action, case_ref, step_id, rationale,
                                  policy_version, platform, data, prev_hash, hash)
        VALUES (head_seq, (e->>'at')::timestamp, e->>'actor', e->>'action', e->>'case_ref',
                (e->>'step_id')::integer, e->>'rationale', e->>'policy_version',
                e->>'platform', e->>'data', head_hash, digest);
        head_hash := digest;
    END LOOP;
    INSERT INTO audit_head (id, seq, hash) VALUES (1, head_seq, head_hash)
        ON CONFLICT (id) DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash;
    RETURN head_seq;
END
$$
"""
DROP_FUNCTION = "DROP FUNCTION IF EXISTS approvals_append_audit(json)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(CREATE_FUNCTION)  # the chain appended in the server
    for name, table, columns, where in INDEXES:
        op.create_index(
            name,
            table,
            columns,
            unique=True,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(DROP_FUNCTION)
