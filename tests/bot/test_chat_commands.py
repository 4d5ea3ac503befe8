from __future__ import annotations

import re
from datetime import date

import pytest

from bot.chat_commands import (
    ListMyApprovals,
    ListMyRequests,
    NewException,
    ShowHelp,
    ShowStatus,
    UsageError,
    parse_approvals_command,
    parse_exception_command,
    policy_resolver,
    resolve_mention,
)
from handlers.commands import Answer, ComeBack, Comment, Decide, GoAway, Reassign, Revoke, Withdraw
from policy.loader import load_policy
from storage.records import Action
from tests.conftest import TEST_POLICY


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
            Withdraw(1, "bought it elsewhere, don't worry"),
        ),
        ("withdraw EXC-1", Withdraw(1, None)),
        ('comment 5 it\'s "urgent"', Comment(5, 'it\'s "urgent"')),
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
        ("approve EXC-2", Decide(2, Action.APPROVE, None)),
        ("reject EXC-2 price is too high", Decide(2, Action.REJECT, "price is too high")),
        ("info 2 which PO?", Decide(2, Action.REQUEST_INFO, "which PO?")),
        ("revoke EXC-2 supplier under review", Revoke(2, "supplier under review")),
        ("dance", ShowHelp()),
    ],
)
def test_approvals_subcommands(text: str, command: object) -> None:
    assert parse_approvals_command(text, RESOLVE) == command


def test_revoke_needs_a_reason() -> None:
    with pytest.raises(UsageError, match="needs a reason"):
        parse_approvals_command("revoke EXC-2", RESOLVE)


# --- away, back, reassign -----------------------------------------------------------------

POLICY = load_policy(TEST_POLICY)  # lee has the Slack id U0LEE
RESOLVE = policy_resolver(POLICY)


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("away until 2026-12-01", GoAway(date(2026, 12, 1), None)),
        ("away until 2026-12-01 delegate @lee", GoAway(date(2026, 12, 1), "lee")),
        ("away until 2026-12-01 delegate lee@acme.example", GoAway(date(2026, 12, 1), "lee")),
        ("away until 2026-12-01 delegate <@U0LEE>", GoAway(date(2026, 12, 1), "lee")),
        ("AWAY until 2026-12-01 delegate <@U0LEE|lee>", GoAway(date(2026, 12, 1), "lee")),
        (
            "away until 2026-12-01 delegate <mailto:lee@acme.example|lee@acme.example>",
            GoAway(date(2026, 12, 1), "lee"),
        ),
        ("back", ComeBack()),
        (
            "reassign EXC-000123 @carl he signs off IT purchases",
            Reassign(123, "carl", "he signs off IT purchases"),
        ),
        ("reassign 7 <@U0LEE|Lee Park> back from leave", Reassign(7, "lee", "back from leave")),
        # An admin moves someone else's place with `from`; a plain "from" stays in the reason.
        ("reassign 7 @carl from <@U0LEE> on leave", Reassign(7, "carl", "on leave", "lee")),
        ("reassign 7 @carl from tomorrow on", Reassign(7, "carl", "from tomorrow on")),
    ],
)
def test_delegation_commands(text: str, command: object) -> None:
    assert parse_approvals_command(text, RESOLVE) == command


def test_the_parser_makes_the_handlers_own_commands() -> None:
    """One command vocabulary: what the chat parser returns is what the handlers take."""
    assert parse_exception_command("answer EXC-4 the PO is PO-88812") == Answer(
        4, "the PO is PO-88812"
    )
    assert isinstance(parse_approvals_command("approve 2", RESOLVE), Decide)


def test_an_unknown_mention_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="I don't know who"):
        parse_approvals_command("reassign 7 <@U0NOBODY|Zed> why", RESOLVE)
    with pytest.raises(UsageError, match="I don't know who"):
        parse_approvals_command("away until 2026-12-01 delegate @zed", RESOLVE)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("away", "Until when?"),
        ("away 2026-12-01", "Until when?"),
        ("away until Dec-1", "'Dec-1' is not a date like 2026-12-01"),
        ("away until 2026-02-30", "'2026-02-30' is not a date"),
        ("away until 2026-12-01 lee", "Usage: /approvals away until"),
        ("away until 2026-12-01 delegate", "Who?"),
        ("away until 2026-12-01 delegate @zed", "I don't know who '@zed' is"),
        ("away until 2026-12-01 delegate <@U0NOBODY>", "I don't know who '<@U0NOBODY>' is"),
        ("back soon", "Usage: /approvals back"),
        ("reassign", "Which case?"),
        ("reassign pizza @lee x", "'pizza' is not a case id"),
        ("reassign EXC-1", "Who?"),
        ("reassign EXC-1 @lee", "needs a reason"),
    ],
)
def test_bad_delegation_commands_say_how_to_write_them(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=re.escape(message)):
        parse_approvals_command(text, RESOLVE)


def test_mentions_resolve_by_id_email_and_slack_id() -> None:
    assert resolve_mention(POLICY, "@lee") == "lee"
    assert resolve_mention(POLICY, "LEE@acme.example") == "lee"
    assert resolve_mention(POLICY, "<@U0LEE|whatever>") == "lee"
    assert resolve_mention(POLICY, "<@U0LEE>") == "lee"
    assert resolve_mention(POLICY, "@nobody") is None
    assert resolve_mention(POLICY, "<@U0NOBODY>") is None
