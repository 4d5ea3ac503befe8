"""The intake benchmark's workload: the requests, their clock, the databases, the handler run.

Case i is request `raw_request(i)`, filed at `clock_at(i)` by an ERP feed (`ACTOR`); both runs
use the same values, so their databases must end up with identical rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from handlers.clock import ManualClock
from handlers.commands import FileException
from handlers.context import Actor, Services
from handlers.filing import file_exception
from policy.loader import load_policy
from storage.database import Database
from storage.migrate import upgrade

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TICK = timedelta(milliseconds=250, microseconds=17)  # case i is filed at START + i * TICK
ACTOR = Actor.system("intake:erp", "api")  # an ERP feed files for the requester

# The policy-relevant part of a request cycles through these variants (amount, supplier);
# everything else (title, references, ids, details) differs from case to case.
VARIANTS: tuple[tuple[float, dict[str, Any]], ...] = (
    (32_000.0, {"id": "SUP-1042", "name": "Nordic IT", "risk_score": 40, "on_contract": False}),
    (27_450.5, {"id": "SUP-2211", "name": "Baltic Office Supply", "risk_score": 22}),
    (61_800.0, {"id": "SUP-0308", "name": "Iberia Tech", "risk_score": 55, "on_contract": False}),
    (118_250.0, {"id": "SUP-7730", "name": "Alpine Logistics", "on_contract": True}),
)


def raw_request(i: int) -> dict[str, Any]:
    """Request i as an ERP would post it, keys in the model's field order."""
    amount, supplier = VARIANTS[i % len(VARIANTS)]
    return {
        "code": "OFF_CONTRACT",
        "title": f"Laptops and docking stations for the Lisbon office (PO 45{i:08d})",
        "requester": "priya",
        "amount": amount,
        "currency": "EUR",
        "supplier": dict(supplier),
        "category": "IT hardware",
        "cost_center": "CC-4410",
        "references": {
            "po": f"45{i:08d}",
            "quote": f"Q-2026-{i:06d}",
            "contract_request": f"CR-{i % 997:04d}",
        },
        "details": {
            "lines": 4 + i % 5,
            "reason": "Preferred supplier out of stock; reseller quote attached",
            "delivery_weeks": 2,
        },
        "source": "erp",
        "external_id": f"SAP-EXC-{i:08d}",
    }


def clock_at(i: int) -> datetime:
    return START + i * TICK


def sql_time(at: datetime) -> str:
    """How storage.types.UTCDateTime lands in SQLite (naive UTC, SQLAlchemy's format)."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_sql_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=UTC)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def migrated(path: Path) -> Database:
    db = Database.from_url(sqlite_url(path))
    await upgrade(db)
    return db


class HandlerRun:
    """Files case i through the real handler, at clock_at(i)."""

    def __init__(self, db: Database, policy_file: Path, commands: Sequence[FileException]):
        self.db = db
        self.clock = ManualClock(START)
        self.services = Services(db, load_policy(policy_file), self.clock)
        self.commands = commands

    @classmethod
    async def open(
        cls, path: Path, policy_file: Path, commands: Sequence[FileException]
    ) -> HandlerRun:
        return cls(await migrated(path), policy_file, commands)

    async def file(self, i: int) -> None:
        self.clock.set(clock_at(i))
        result = await file_exception(self.services, ACTOR, self.commands[i])
        if not result.created:
            raise SystemExit(f"request {i} was deduplicated; external ids must be unique")

    async def close(self) -> None:
        await self.db.dispose()
