"""`approvals policy export`: the active policy version as YAML, to commit back to git."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from storage import policy_versions as versions
from storage.database import Database
from storage.migrate import schema_gap


async def export_policy(db: Database, output: Path | None) -> int:
    if (gap := await schema_gap(db)) is not None:
        print(f"Cannot export: {gap}.", file=sys.stderr)
        return 2
    async with db.reading() as conn:
        stored = await versions.active(conn)
    if stored is None:
        print(
            "No policy version is stored yet: `approvals serve` or `approvals console` "
            "imports the policy file on start.",
            file=sys.stderr,
        )
        return 2
    if output is None:
        sys.stdout.write(stored.text)
    else:
        await asyncio.to_thread(output.write_text, stored.text, encoding="utf-8")
    print(
        f"exported {stored.ref} (version {stored.version[:12]}, from {stored.origin})",
        file=sys.stderr,
    )
    return 0
