"""The `approvals` command line: policy tools, audit tools, migrate."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from bot.cli import main
from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from policy.loader import load_policy
from storage.database import Database
from storage.migrate import head_revision, upgrade
from storage.records import Action
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file, person


@pytest.fixture
def sqlite_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("APPROVALS_DATABASE_URL", url)
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(TEST_POLICY))
    return url


def _seed(url: str) -> None:
    """Two cases, one approved: 8 audit events."""

    async def seed() -> None:
        db = Database.from_url(url)
        await upgrade(db)
        clock = ManualClock(START)
        svc = Services(db=db, policy=load_policy(TEST_POLICY), clock=clock)
        first = await file(svc)
        await decide(svc, person("lee"), Decide(first.case.id, Action.APPROVE, "fine"))
        clock.advance(timedelta(days=3))
        await file(svc, title="Later one")
        await db.dispose()

    asyncio.run(seed())


def test_policy_check_accepts_a_good_file(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["policy", "check", str(TEST_POLICY)]) == 0
    out = capsys.readouterr().out
    assert "OK: Handler test policy" in out
    assert "9 people, 5 tiers, 6 rules" in out


def test_policy_check_lists_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    text = TEST_POLICY.read_text()
    text = text.replace("when: amount > 25000.0", "when: amount >")
    text = text.replace("sla: 4h", "sla: 4 hours")
    bad.write_text(text)

    assert main(["policy", "check", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "high-value" in err
    assert "category-lead" in err
    assert str(bad) in err


def test_policy_simulate_explains_the_route(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"code": "OFF_CONTRACT", "title": "t", "requester": "rita", "amount": 30000.0})
    )
    assert main(["policy", "simulate", str(TEST_POLICY), "--event", str(event)]) == 0
    out = capsys.readouterr().out
    assert "category-lead: Lee Park (lee), Dana Reyes (dana)" in out
    assert "finance-director: Maria Finance (maria)" in out
    assert "amount > 25000.0 (amount = 30000.0)" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{broken", "cannot read the event"),
        ('{"code": "OFF_CONTRACT"}', "title"),
        ('{"code": "NOPE", "title": "t", "requester": "rita"}', "code"),
    ],
)
def test_policy_simulate_refuses_bad_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    event = tmp_path / "event.json"
    event.write_text(content)
    assert main(["policy", "simulate", str(TEST_POLICY), "--event", str(event)]) == 2
    assert message in capsys.readouterr().err


def test_migrate_then_verify_an_empty_log(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "0 events verified" in capsys.readouterr().out


def test_audit_commands_refuse_a_database_without_schema(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit", "verify"]) == 2
    assert "approvals migrate" in capsys.readouterr().err


def test_verify_names_the_first_tampered_event(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    assert main(["audit", "verify"]) == 0
    assert "8 events verified" in capsys.readouterr().out

    raw = sqlite3.connect(tmp_path / "cli.db")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE audit_events SET rationale = 'edited' WHERE seq = 5")
    # Someone with the file can drop the trigger; the chain still gives them away.
    raw.execute("DROP TRIGGER audit_events_no_update")
    raw.execute("UPDATE audit_events SET rationale = 'edited' WHERE seq = 5")
    raw.commit()
    raw.close()

    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at event 5" in err
    assert "4 events verified before it" in err


def test_export_as_jsonl_and_csv_with_filters(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    assert main(["audit", "export", "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert events[3]["actor"] == "lee"
    assert events[3]["rationale"] == "fine"

    assert main(["audit", "export", "--format", "jsonl", "--case", "EXC-2"]) == 0
    only_second = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {e["case"] for e in only_second} == {"EXC-000002"}

    out = tmp_path / "audit.csv"
    assert (
        main(["audit", "export", "--format", "csv", "--since", "2026-03-04", "--output", str(out)])
        == 0
    )
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [r["case"] for r in rows] == ["EXC-000002"] * 3
    assert rows[1]["prev_hash"] == rows[0]["hash"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--case", "banana"], "is not a case id"),
        (["--since", "yesterday"], "is not a date"),
    ],
)
def test_export_refuses_bad_filters(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["migrate"]) == 0
    assert main(["audit", "export", *args]) == 2
    assert message in capsys.readouterr().err


def test_half_a_platform_configuration_is_a_clear_startup_error(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    assert main(["migrate"]) == 2
    assert "SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_a_broken_policy_stops_start_up_with_its_problems(
    sqlite_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(TEST_POLICY.read_text().replace("manager: carl", "manager: nobody", 1))
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(broken))
    assert main(["console"]) == 2
    err = capsys.readouterr().err
    assert "The policy file has problems" in err
    assert "nobody" in err
