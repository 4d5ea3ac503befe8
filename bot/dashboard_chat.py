"""`/approvals dashboard` in chat: a link to the dashboard for the person who asked, and the
line `/approvals stats` ends with. Both replies are private: Slack answers ephemerally,
Teams gives a link only in the person's own chat, the console is the person at the machine."""

from __future__ import annotations

from datetime import datetime

from bot.dashboard_access import NO_PUBLIC_URL, SESSION_LIFETIME, DashboardAccess

NOT_HERE = (
    "A dashboard link is for you alone, so I only send it in our one-to-one chat: "
    "message me `approvals dashboard` there."
)


def dashboard_reply(access: DashboardAccess | None, person_id: str, now: datetime) -> str:
    link = access.link(person_id, now) if access is not None else None
    if access is None or link is None:
        return access.unavailable if access is not None else NO_PUBLIC_URL
    hours = int(SESSION_LIFETIME.total_seconds() // 3600)
    return (
        f"Your dashboard: {link}\n"
        f"The link is for you alone and works for {access.minutes} minutes; opening it signs "
        f"your browser in for {hours} hours. It shows the cases you may see, and changes nothing."
    )


def stats_link_line(access: DashboardAccess | None, person_id: str, now: datetime) -> str | None:
    """`Dashboard: <link>` under the stats, when a link can be made."""
    link = access.link(person_id, now) if access is not None else None
    return f"Dashboard: {link}" if link is not None else None
