"""The console beside chat: messages for people Slack or Teams reach are left for `serve`.

Chat is in play when the console's environment configures Slack or Teams, or when the
database shows a platform delivering (cards it posted, Teams chats on record). The console
then claims only messages for people no platform in play reaches, so a running (or later)
`serve` delivers the rest to chat; messages for no one in particular (card updates) are left
to it as well. Without chat, the console delivers everything, as before.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.settings import Settings
from policy.model import Person, Policy


def configured_chat(settings: Settings) -> list[str]:
    """The chat platforms this environment configures."""
    on = {"slack": settings.slack_enabled, "teams": settings.teams_enabled}
    return [name for name, enabled in on.items() if enabled]


def reached_on_chat(person: Person, platforms: Collection[str]) -> bool:
    """The messengers' own rules (bot.slack.messenger, bot.teams.messenger): Teams reaches
    people with a Teams or Entra id, Slack its members and, by email, everyone else."""
    on_teams = person.teams is not None or person.aad is not None
    if "teams" in platforms and on_teams:
        return True
    return "slack" in platforms and (person.slack is not None or not on_teams)


def console_only(policy: Policy, platforms: Collection[str]) -> frozenset[str] | None:
    """The people whose messages the console may take, or None (everyone's: no chat)."""
    if not platforms:
        return None
    return frozenset(p.id for p in policy.people.values() if not reached_on_chat(p, platforms))


def chat_notice(policy: Policy, platforms: Collection[str]) -> str:
    names = ", ".join(sorted(platforms))
    mine = console_only(policy, platforms) or frozenset()
    shown = ", ".join(sorted(mine)) or "nobody"
    return (
        f"{names.capitalize()} in use with this database: messages for people reached there "
        f"stay in the outbox for `approvals serve`. This console shows only those for: {shown}."
    )
