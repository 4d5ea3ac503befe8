"""`approvals report`: the program's KPIs of a SQLite file, as text, JSON or CSV."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.read_command import CommandError, write_out
from bot.report_command import window_start
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from handlers.policy_versions import bootstrap
from policy.loader import load_policy, parse_policy
from policy.names import at_text
from storage.database import Database
from storage.migrate import upgrade
from storage.records import Action, CaseStatus
from tests.bot.test_backtest_cli import HIGHER, draft, rows
from tests.conftest import TEST_POLICY
from tests.handlers.conftest import file, person

# Two days ago: the cases are in the past whatever the system clock says.
START = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=0)
SINCE = (START - timedelta(hours=1)).isoformat()


@pytest.fixture
def db_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "report.db"
    monkeypatch.setenv("APPROVALS_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(TEST_POLICY))
    return path


def seed(path: Path, start: datetime, stored: str | None = None) -> None:
    """Two cases at `start`: 30000 EUR approved by lee after 10 minutes and by maria after an
    hour, and 900 EUR left open. `stored`: a policy text to store as the active version (and
    to file and decide under)."""

    async def run() -> None:
        db = Database.from_url(f"sqlite+aiosqlite:///{path}")
        await upgrade(db)
        clock = ManualClock(start)
        policy = load_policy(TEST_POLICY)
        if stored is not None:
            policy = await bootstrap(db, parse_policy(stored, "stored.yaml"), stored, clock)
        svc = Services(db=db, policy=policy, clock=clock)
        await file(svc, amount=30_000.0, supplier={"name": "Acme"})
        await file(svc, amount=900.0)
        clock.advance(timedelta(minutes=10))
        lee = await decide(
            svc, person("lee"), Decide(1, Action.APPROVE, "Needed for the new hires")
        )
        clock.advance(timedelta(minutes=50))
        if lee.case.status is CaseStatus.PENDING:  # the stored policy may not need maria
            await decide(svc, person("maria"), Decide(1, Action.APPROVE, "Within budget"))
        await db.dispose()

    asyncio.run(run())


def test_json_has_the_figures_and_the_database_is_left_alone(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db_file, START)
    before = rows(db_file)

    assert main(["report", "--since", SINCE, "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert list(report) == [
        "window",
        "volume",
        "cycle_time",
        "by_code",
        "by_tier",
        "by_approver",
        "by_supplier",
        "by_cost_center",
        "by_source",
        "open_by_age",
        "sla_breaches",
        "escalations",
        "auto_decided",
        "auto_decided_share",
        "info_requests",
        "revocations",
        "manager_decisions",
        "leakage",
        "rubber_stamps",
        "drift",
        "remediation",
    ]
    assert report["window"]["since"] == SINCE
    assert report["volume"] == 2
    assert report["cycle_time"] == {"cases": 1, "p50_s": 3600.0, "p90_s": 3600.0}
    assert report["leakage"]["EUR"]["by_supplier"] == {"Acme": 30000.0}
    assert report["open_by_age"]["oldest"]["id"] == "EXC-000002"
    assert report["sla_breaches"]["steps"] == 1  # EXC-000002's 4h step, open for 2 days
    # No version is stored: the policy file is the one in force.
    assert report["drift"]["active_version"] == load_policy(TEST_POLICY).version
    assert report["remediation"] == {}  # no remediation item was closed

    assert rows(db_file) == before  # it read, and wrote nothing


def test_text_and_csv(db_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed(db_file, START)
    assert main(["report", "--since", START.isoformat()]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"Exception program KPIs: cases filed {at_text(START)} to ")
    assert "Volume: 2 cases filed, 0 decided by policy (0.0%).\n" in text
    assert "Leakage (approved through exceptions): EUR 30,000.00 in 1 case.\n" in text

    day = START.date().isoformat()  # midnight: the cases are in
    assert main(["report", "--since", day, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0] == ["figure", "group", "value"]
    assert ["volume", "", "2"] in table
    assert ["by_approver.p50_s", "maria", "3000.0"] in table  # the step reached her at 10m
    assert ["leakage.by_code", "EUR OFF_CONTRACT", "30000.0"] in table


def test_the_default_is_the_last_30_days_and_a_span_is_understood(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed(db_file, datetime.now(UTC) - timedelta(days=31))
    for args, volume in ([], 0), (["--since", "32d"], 2), (["--since", "12h"], 0):
        assert main(["report", *args, "--format", "json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["volume"] == volume
        assert report["open_by_age"][">7d"] == 1  # whatever the window


def test_the_active_version_in_the_database_is_the_policy_in_force(
    db_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Cases decided under a stored version that is active still: no drift, although the
    policy file (APPROVALS_POLICY_FILE) says otherwise."""
    stored = draft(tmp_path, HIGHER).read_text(encoding="utf-8")
    seed(db_file, START, stored)
    assert main(["report", "--since", SINCE, "--format", "json"]) == 0
    drift = json.loads(capsys.readouterr().out)["drift"]
    assert drift["active_version"] == parse_policy(stored, "stored.yaml").version
    assert (drift["stale_decisions"], drift["would_change"]) == (0, [])


@pytest.mark.parametrize("since", ["yesterday", "2026-13-01", "", "0d", "30"])
def test_a_bad_since_is_exit_2(
    db_file: Path, capsys: pytest.CaptureFixture[str], since: str
) -> None:
    assert main(["report", "--since", since]) == 2
    assert f"--since {since!r} is not a span like 30d, a date like 2026-10-01" in (
        capsys.readouterr().err
    )
    assert not db_file.exists()


def test_a_missing_database_or_schema_is_exit_2_and_nothing_is_created(
    db_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report"]) == 2
    assert "does not exist: no cases to report on" in capsys.readouterr().err
    assert not db_file.exists()

    sqlite3.connect(db_file).close()
    assert main(["report", "--format", "csv"]) == 2
    assert "run `approvals migrate`" in capsys.readouterr().err


def test_a_reader_that_stops_early_is_not_an_error() -> None:
    class Closed(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError

    assert write_out(Closed(), "figures\n") == 0


def test_a_span_too_long_for_the_calendar_is_refused() -> None:
    with pytest.raises(CommandError, match="is not a span like 30d"):
        window_start("99999999d", START)
