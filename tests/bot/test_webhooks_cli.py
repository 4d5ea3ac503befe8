"""`approvals webhooks list|redeliver`, and hostile webhook configuration answered in one line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from handlers.clock import ManualClock
from handlers.context import Services
from policy.loader import parse_policy
from storage import webhooks
from storage.database import Database
from storage.migrate import upgrade
from storage.webhooks import DeliveryStatus
from tests.bot.webhook_receiver import new_secret
from tests.conftest import START, TEST_POLICY
from tests.handlers.conftest import file

HOOKS = "https://hooks.example/approvals"
SOURCES = "sources:\n  erp: {webhook_url: 'https://erp.example/h', secret_env: ERP_SECRET}\n"


@pytest.fixture
def url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    database = f"sqlite+aiosqlite:///{tmp_path / 'hooks.db'}"
    monkeypatch.setenv("APPROVALS_DATABASE_URL", database)
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(TEST_POLICY))
    for name in ("APPROVALS_WEBHOOK_URL", "APPROVALS_WEBHOOK_SECRET", "ERP_SECRET"):
        monkeypatch.delenv(name, raising=False)
    return database


def _seed(url: str) -> list[str]:
    """Four cases' filings: failed (a 404), disabled (erp's 410), delivered, pending; their
    webhook-ids."""

    async def seed() -> list[str]:
        db = Database.from_url(url)
        await upgrade(db)
        policy = parse_policy(TEST_POLICY.read_text(encoding="utf-8") + SOURCES, "p.yaml")
        svc = Services(db, policy, ManualClock(START), default_webhook_url=HOOKS)
        await file(svc, title="Laptops, lot 1")
        await file(svc, source="erp", external_id="PO-2")
        await file(svc, title="Laptops, lot 3")
        await file(svc, title="Laptops, lot 4")
        async with db.transaction() as conn:
            failed, gone, done, _ = await webhooks.claim(conn, START, "cli", START - START, 4)
            await webhooks.mark_failed(conn, failed.id, "cli", HOOKS, 404, "HTTP 404: not retried")
            await webhooks.disable_endpoint(conn, gone.id, "cli", "erp", gone.url, "410", START)
            await webhooks.mark_delivered(conn, done.id, "cli", HOOKS, 200, START)
        async with db.reading() as conn:
            ids = [d.message_id for d in sorted(await webhooks.listing(conn), key=lambda d: d.id)]
        await db.dispose()
        return ids

    return asyncio.run(seed())


def _statuses(url: str) -> list[DeliveryStatus]:
    async def read() -> list[DeliveryStatus]:
        db = Database.from_url(url)
        async with db.reading() as conn:
            found = sorted(await webhooks.listing(conn), key=lambda d: d.id)
        await db.dispose()
        return [d.status for d in found]

    return asyncio.run(read())


def test_list_shows_every_message_and_failed_only_what_needs_an_operator(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _seed(url)
    assert main(["webhooks", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "id",
        "webhook-id",
        "case",
        "type",
        "endpoint",
        "status",
        "attempts",
        "next",
        "last",
    ]
    assert [line.split()[1] for line in lines[1:]] == ids[::-1]  # newest first
    assert "HTTP 404: not retried" in lines[-1]
    assert main(["webhooks", "list", "--failed"]) == 0
    failed = capsys.readouterr().out.splitlines()[1:]
    assert sorted(line.split()[5] for line in failed) == ["disabled", "failed"]


def test_redeliver_one_by_either_id_then_all_failed(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _seed(url)
    assert main(["webhooks", "redeliver", ids[0]]) == 0
    assert capsys.readouterr().out == f"queued {ids[0]} again\n"
    assert main(["webhooks", "redeliver", "3"]) == 0  # delivered: sent again, same id
    again = [DeliveryStatus.PENDING, DeliveryStatus.DISABLED, DeliveryStatus.PENDING]
    assert _statuses(url)[:3] == again
    assert main(["webhooks", "redeliver", ids[3]]) == 0
    assert "already pending" in capsys.readouterr().out.splitlines()[-1]
    assert main(["webhooks", "redeliver", "--failed"]) == 0
    assert "queued 1 message(s) again" in capsys.readouterr().out
    assert set(_statuses(url)) == {DeliveryStatus.PENDING}


def test_an_unknown_id_is_exit_2_with_a_message(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(url)
    assert main(["webhooks", "redeliver", "msg_nope"]) == 2
    assert "There is no webhook message 'msg_nope'" in capsys.readouterr().err


def test_no_database_is_exit_2_and_creates_none(
    url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webhooks", "list"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "hooks.db").exists()


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"APPROVALS_WEBHOOK_URL": "ftp://x", "APPROVALS_WEBHOOK_SECRET": new_secret()}, "URL"),
        ({"APPROVALS_WEBHOOK_URL": HOOKS, "APPROVALS_WEBHOOK_SECRET": "hunter2"}, "SECRET"),
        ({"APPROVALS_WEBHOOK_URL": HOOKS, "APPROVALS_WEBHOOK_SECRET": "whsec_!!"}, "SECRET"),
        ({"APPROVALS_WEBHOOK_URL": HOOKS, "APPROVALS_WEBHOOK_SECRET": "whsec_aGk="}, "SECRET"),
        ({"APPROVALS_WEBHOOK_URL": HOOKS}, "URL set but APPROVALS_WEBHOOK_SECRET missing"),
    ],
)
def test_bad_webhook_settings_stop_start_up_in_one_line(
    url: str,
    env: dict[str, str],
    named: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("Configuration error: ")
    assert f"APPROVALS_WEBHOOK_{named}" in err
    assert "hunter2" not in err


def test_a_sources_secret_that_is_not_one_stops_start_up_and_unset_is_a_warning(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(TEST_POLICY.read_text(encoding="utf-8") + SOURCES, encoding="utf-8")
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(policy))
    assert main(["policy", "check", str(policy)]) == 0
    assert "warning: sources.erp.secret_env: ERP_SECRET is not set here" in capsys.readouterr().err
    monkeypatch.setenv("ERP_SECRET", "not-a-secret")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err == (
        "Configuration error: ERP_SECRET (named by sources.erp.secret_env) must be a Standard "
        "Webhooks secret: whsec_ followed by base64\n"
    )
