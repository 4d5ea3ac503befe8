"""`approvals policy backtest DRAFT.yaml`: past cases of a SQLite file under a draft policy."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from handlers.clock import ManualClock
from handlers.context import Services
from handlers.policy_versions import bootstrap
from policy.loader import load_policy, parse_policy
from storage.database import Database
from storage.migrate import upgrade
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file

HIGHER = ("when: amount > 25000.0", "when: amount > 50000.0")
NO_OFF_CONTRACT = (
    "  - {code: OFF_CONTRACT, title: Purchase from a supplier without a contract}\n",
    "",
)


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("APPROVALS_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(TEST_POLICY))
    return path


def draft(tmp_path: Path, change: tuple[str, str]) -> Path:
    text = TEST_POLICY.read_text(encoding="utf-8")
    assert change[0] in text
    path = tmp_path / "draft.yaml"
    path.write_text(text.replace(*change), encoding="utf-8")
    return path


def seed(path: Path, start: datetime, filings: list[tuple[timedelta, dict[str, Any]]]) -> None:
    """File each request (fields over the handler tests' default) at `start` + its offset."""

    async def run() -> None:
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        clock = ManualClock(start)
        svc = Services(db=db, policy=load_policy(TEST_POLICY), clock=clock)
        for number, (offset, fields) in enumerate(filings, 1):
            clock.set(start + offset)
            filed = await file(svc, title=f"Case {number}", **fields)
            assert filed.created
            assert filed.case.id == number
        await db.dispose()

    asyncio.run(run())


FILINGS: list[tuple[timedelta, dict[str, Any]]] = [
    (timedelta(0), {"amount": 30_000.0}),  # EXC-000001, before --since
    (timedelta(days=1), {"amount": 900.0}),  # EXC-000002, before --since
    (timedelta(days=10), {"code": "PRICE_MISMATCH", "details": {"variance_pct": 1.0}}),
    (timedelta(days=10, hours=1), {"amount": 30_000.0}),  # EXC-000004
]


def rows(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as raw:
        tables = [t for (t,) in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        found = {t: raw.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in tables}  # noqa: S608
    raw.close()
    return found


def test_json_lists_the_changes_and_the_load_since_a_date(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db_file, START, FILINGS)
    before = rows(db_file)
    higher = draft(tmp_path, HIGHER)

    args = ["policy", "backtest", str(higher), "--since", "2026-03-05", "--format", "json"]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == {
        "cases": 2,
        "changed": 1,
        "changes": [
            {
                "id": "EXC-000004",
                "before": {
                    "outcome": "route",
                    "route": ["category-lead", "finance-director"],
                    "flags": ["high-value"],
                },
                "after": {"outcome": "route", "route": ["category-lead"], "flags": []},
            }
        ],
        "load": {
            "category-lead": {"before": 1, "after": 1},
            "dual-control": {"before": 0, "after": 0},
            "all-leads": {"before": 0, "after": 0},
            "finance-director": {"before": 1, "after": 0},
            "stand-in": {"before": 0, "after": 0},
        },
    }

    # An earlier --since takes in the first two cases as well; a time of day is understood.
    assert main([*args[:3], "--since", "2026-03-02T09:00:00+00:00", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["cases"], report["changed"]) == (4, 2)
    assert [c["id"] for c in report["changes"]] == ["EXC-000001", "EXC-000004"]
    assert report["load"]["category-lead"] == {"before": 3, "after": 3}
    assert report["load"]["finance-director"] == {"before": 2, "after": 0}
    assert main([*args[:3], "--since", "2026-03-02T09:00:01+00:00", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["cases"] == 3

    assert rows(db_file) == before  # it read, and wrote nothing


def test_the_default_is_the_last_30_days_by_the_system_clock(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC)
    seed(db_file, now - timedelta(days=40), [(timedelta(0), {}), (timedelta(days=39), {})])
    assert main(["policy", "backtest", str(draft(tmp_path, HIGHER)), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["cases"], report["changed"]) == (1, 0)


def test_text_says_the_same_and_a_missing_code_is_invalid(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db_file, START, FILINGS)
    without = draft(tmp_path, NO_OFF_CONTRACT)
    assert main(["policy", "backtest", str(without), "--since", "2026-03-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Backtest of {without} (Handler test policy, version ")
    assert "against the stored version that decided each case (older cases: the current " in out
    assert f"policy {TEST_POLICY}, Handler test policy, version " in out
    assert "on the cases filed since 2026-03-01T00:00:00+00:00.\n" in out
    assert "4 cases backtested: 3 would change (3 outcome, 3 invalid under the draft)." in out
    assert "  human -> invalid: 3" in out
    assert "  category-lead           3        0       -3" in out
    assert "  EXC-000001  human: category-lead, finance-director\n" in out
    assert "-> invalid: code: unknown exception code 'OFF_CONTRACT'" in out
    assert "EXC-000003" not in out  # approved by policy either way


def test_a_bad_draft_lists_its_problems_as_check_does(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = draft(tmp_path, ("when: amount > 25000.0", "when: amount >"))
    assert main(["policy", "check", str(bad)]) == 1
    listing = capsys.readouterr().err
    assert "1 problem(s)" in listing
    assert main(["policy", "backtest", str(bad), "--since", "2026-03-01"]) == 1
    assert capsys.readouterr().err == listing
    assert not db_file.exists()


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", ""])
def test_a_bad_since_is_exit_2(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], since: str
) -> None:
    seed(db_file, START, FILINGS[:1])
    assert main(["policy", "backtest", str(draft(tmp_path, HIGHER)), "--since", since]) == 2
    assert f"--since {since!r} is not a date like 2026-10-01" in capsys.readouterr().err


def test_a_missing_database_is_exit_2_and_not_created(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "backtest", str(draft(tmp_path, HIGHER))]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not db_file.exists()


def test_a_database_without_schema_and_a_broken_current_policy_are_exit_2(
    db_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    higher = draft(tmp_path, HIGHER)
    sqlite3.connect(db_file).close()
    assert main(["policy", "backtest", str(higher)]) == 2
    assert "approvals migrate" in capsys.readouterr().err

    broken = tmp_path / "current.yaml"
    broken.write_text("name: [", encoding="utf-8")
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(broken))
    assert main(["policy", "backtest", str(higher)]) == 2
    assert "The current policy (APPROVALS_POLICY_FILE) has problems" in capsys.readouterr().err


def test_each_case_is_compared_with_the_stored_version_that_decided_it(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cases filed under an older version (stored, with a higher threshold) compare with it,
    not with the current file: the draft equal to the current policy changes them back."""
    older = draft(tmp_path, HIGHER).read_text(encoding="utf-8")

    async def run() -> None:
        db = Database.from_url(f"sqlite+aiosqlite:///{db_file}")
        await upgrade(db)
        clock = ManualClock(START)
        policy = await bootstrap(db, parse_policy(older, "older.yaml"), older, clock)
        svc = Services(db=db, policy=policy, clock=clock)
        assert (await file(svc, title="Under the older version", amount=30_000.0)).created
        await db.dispose()

    asyncio.run(run())
    current = tmp_path / "current.yaml"
    current.write_text(TEST_POLICY.read_text(encoding="utf-8"), encoding="utf-8")
    args = ["policy", "backtest", str(current), "--since", "2026-03-01", "--format", "json"]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["cases"], report["changed"]) == (1, 1)
    change = report["changes"][0]
    assert change["before"]["route"] == ["category-lead"]  # what the older version decided
    assert change["after"]["route"] == ["category-lead", "finance-director"]
