"""`approvals migrate --status` and `--downgrade REV`, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from bot.cli import main
from storage.migrate import head_revision
from tests.conftest import TEST_POLICY


@pytest.fixture
def migrate_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("APPROVALS_DATABASE_URL", database_url)
    monkeypatch.setenv("APPROVALS_POLICY_FILE", str(TEST_POLICY))
    return database_url


def _status(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["migrate", "--status"]) == 0
    return capsys.readouterr().out.splitlines()


def test_status_names_the_current_and_the_head_revision(
    migrate_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    head = head_revision()
    assert _status(capsys) == [
        "current revision: none (empty database)",
        f"head revision:    {head}",
    ]
    assert main(["migrate"]) == 0
    capsys.readouterr()
    assert _status(capsys) == [
        f"current revision: {head}",
        f"head revision:    {head} (up to date)",
    ]


def test_downgrade_then_upgrade_again(migrate_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate", "--downgrade", "-1"]) == 0
    below = f"{int(head_revision()) - 1:04d}"
    assert f"revision {below}" in capsys.readouterr().out
    assert _status(capsys)[0] == f"current revision: {below}"
    assert main(["migrate", "--downgrade", "base"]) == 0
    assert "revision none" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("revision", "message"),
    [
        ("zzz", "Can't locate revision identified by 'zzz'"),
        ("9999", "Can't locate revision identified by '9999'"),
        ("0005", "not a valid downgrade target"),  # above the current revision
        ("-9", "didn't produce 9 migrations"),
    ],
)
def test_a_bad_downgrade_revision_is_one_line_and_exit_2(
    migrate_env: str, capsys: pytest.CaptureFixture[str], revision: str, message: str
) -> None:
    assert main(["migrate"]) == 0
    assert main(["migrate", "--downgrade", "0003"]) == 0
    capsys.readouterr()
    assert main(["migrate", "--downgrade", revision]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"--downgrade {revision!r}: ")
    assert message in lines[0]
    assert _status(capsys)[0] == "current revision: 0003"  # nothing changed


def test_status_and_downgrade_do_not_go_together(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["migrate", "--status", "--downgrade", "base"])
    assert exit_.value.code == 2
    assert "not allowed with" in capsys.readouterr().err
