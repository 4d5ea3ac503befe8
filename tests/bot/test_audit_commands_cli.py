"""`approvals audit verify` and `approvals audit checkpoint` from the command line: what an
auditor runs, and what each tells them."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main
from bot.composition import build_services
from bot.settings import load_settings
from tests.bot.test_cli import _seed, sqlite_url
from tests.conftest import TEST_POLICY

__all__ = ["sqlite_url"]  # the fixture, shared with the other CLI tests


def _db_file(url: str) -> str:
    return url.removeprefix("sqlite+aiosqlite:///")


def test_verify_checks_the_chain_and_the_cases(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    assert main(["audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit log intact: 8 events verified; 2 cases match their audit record" in out

    with sqlite3.connect(_db_file(sqlite_url)) as raw:
        raw.execute("UPDATE cases SET amount = 1.0 WHERE id = 1")
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "cases DIFFER from their audit record" in err
    assert "EXC-000001: amount is 1.0 in the case but 1200.0 in its audit record" in err


def test_a_checkpoint_catches_a_truncated_tail_with_a_rewritten_head(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    assert main(["audit", "checkpoint"]) == 0
    kept = tmp_path / "checkpoint.json"
    kept.write_text(capsys.readouterr().out)

    with sqlite3.connect(_db_file(sqlite_url)) as raw:  # an attacker with write access
        raw.execute("DROP TRIGGER audit_events_no_delete")
        raw.execute("DELETE FROM audit_events WHERE seq > 5")
        head = raw.execute("SELECT hash FROM audit_events WHERE seq = 5").fetchone()[0]
        raw.execute("UPDATE audit_head SET seq = 5, hash = ?", (head,))
        raw.execute("DELETE FROM outbox WHERE case_id = 2")
        raw.execute("DELETE FROM assignments WHERE case_id = 2")
        raw.execute("DELETE FROM steps WHERE case_id = 2")
        raw.execute("DELETE FROM cases WHERE id = 2")

    assert main(["audit", "verify"]) == 0  # without a witness, nothing to notice
    capsys.readouterr()
    assert main(["audit", "verify", "--checkpoint", str(kept)]) == 1
    assert "BROKEN against the checkpoint: the checkpoint names event 8" in capsys.readouterr().err


def test_a_bad_checkpoint_file_is_refused(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    bad = tmp_path / "bad.json"
    bad.write_text('{"seq": "nine"}')
    assert main(["audit", "verify", "--checkpoint", str(bad)]) == 2
    assert "not a checkpoint: seq must be a whole number" in capsys.readouterr().err
    assert main(["audit", "verify", "--checkpoint", str(tmp_path / "missing.json")]) == 2


def test_checkpoint_send_queues_a_message_for_each_auditor(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(sqlite_url)
    assert main(["audit", "checkpoint", "--send"]) == 0
    assert '"seq": 8' in capsys.readouterr().out
    with sqlite3.connect(_db_file(sqlite_url)) as raw:
        rows = raw.execute("SELECT recipient FROM outbox WHERE payload LIKE '%checkpoint%'")
        assert [row[0] for row in rows] == ["aud"]
        kinds = raw.execute("SELECT action FROM audit_events ORDER BY seq DESC LIMIT 1")
        assert kinds.fetchone()[0] == "audit.checkpoint"


def test_policy_export_writes_the_active_version(
    sqlite_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["policy", "export"]) == 2  # an empty database
    assert "run `approvals migrate`" in capsys.readouterr().err
    assert main(["migrate"]) == 0
    assert main(["policy", "export"]) == 2  # nothing stored before a start-up imports it
    assert "No policy version is stored yet" in capsys.readouterr().err

    async def start() -> None:  # what `serve` and `console` do first: import the file
        services = await build_services(load_settings())
        await services.db.dispose()

    asyncio.run(start())
    out = tmp_path / "exported.yaml"
    assert main(["policy", "export", "--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == TEST_POLICY.read_text(encoding="utf-8")
    assert "exported POL-000001" in capsys.readouterr().err


def test_a_policy_with_one_admin_loads_and_the_log_says_only_the_file_changes_it(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert "roles: [admin]" in TEST_POLICY.read_text(encoding="utf-8")  # ada, alone

    async def start() -> str:
        services = await build_services(load_settings())
        await services.db.dispose()
        return services.policy.version

    with caplog.at_level("WARNING", logger="bot.composition"):
        assert asyncio.run(start())
    assert "has fewer than two admins, so only the policy file can change it" in caplog.text
