from __future__ import annotations

import pytest

from bot.chat_commands import (
    CommentOnCase,
    DecideCase,
    ListMyApprovals,
    ListMyRequests,
    NewException,
    RevokeCase,
    ShowHelp,
    ShowStatus,
    UsageError,
    WithdrawCase,
    parse_approvals_command,
    parse_exception_command,
)
from storage.records import Action


def test_new_exception_builds_nested_fields_with_types() -> None:
    command = parse_exception_command(
        'new PRICE_MISMATCH "Invoice 12% above PO" amount=18250.5 currency=USD '
        'supplier.name="Acme Industrial" supplier.risk_score=72 supplier.on_contract=true '
        "references.po=00123 details.variance_pct=12 details.note=late"
    )
    assert command == NewException(
        {
            "code": "PRICE_MISMATCH",
            "title": "Invoice 12% above PO",
            "amount": 18250.5,
            "currency": "USD",
            "supplier": {"name": "Acme Industrial", "risk_score": 72, "on_contract": True},
            "references": {"po": "00123"},  # references stay text: leading zeros matter
            "details": {"variance_pct": 12, "note": "late"},
        }
    )


def test_new_exception_accepts_json() -> None:
    command = parse_exception_command('new {"code": "MISSING_ASN", "title": "No ASN"}')
    assert command == NewException({"code": "MISSING_ASN", "title": "No ASN"})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("new", "Usage: /exception new"),
        ('new X "unbalanced', "check the quotes"),
        ("new X colour=red", "Unknown field 'colour'"),
        ("new {not json", "does not parse"),
        ("status", "Which case?"),
        ("status pizza", "'pizza' is not a case id"),
        ("comment EXC-1", "What is the comment?"),
    ],
)
def test_bad_exception_commands_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_exception_command(text)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("status EXC-000123", ShowStatus(123)),
        ("status exc-7", ShowStatus(7)),
        ("list", ListMyRequests()),
        (
            "withdraw EXC-1 bought it elsewhere, don't worry",
            WithdrawCase(1, "bought it elsewhere, don't worry"),
        ),
        ("withdraw EXC-1", WithdrawCase(1, None)),
        ('comment 5 it\'s "urgent"', CommentOnCase(5, 'it\'s "urgent"')),
        ("help", ShowHelp()),
        ("", ShowHelp()),
        ("what is this", ShowHelp()),
    ],
)
def test_exception_subcommands(text: str, command: object) -> None:
    assert parse_exception_command(text) == command


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("", ListMyApprovals()),
        ("list", ListMyApprovals()),
        ("approve EXC-2", DecideCase(2, Action.APPROVE, None)),
        ("reject EXC-2 price is too high", DecideCase(2, Action.REJECT, "price is too high")),
        ("info 2 which PO?", DecideCase(2, Action.REQUEST_INFO, "which PO?")),
        ("revoke EXC-2 supplier under review", RevokeCase(2, "supplier under review")),
        ("dance", ShowHelp()),
    ],
)
def test_approvals_subcommands(text: str, command: object) -> None:
    assert parse_approvals_command(text) == command


def test_revoke_needs_a_reason() -> None:
    with pytest.raises(UsageError, match="needs a reason"):
        parse_approvals_command("revoke EXC-2")
