"""Asking for every card of a case to be re-rendered where it is, without changing the case.

Used when someone pressed a button on an out-of-date card: their card (and every other one)
catches up with the case's state.
"""

from __future__ import annotations

from handlers.context import Services
from storage import outbox
from storage.outbox import MessageKind, OutgoingMessage


async def refresh_cards(svc: Services, case_id: int) -> None:
    messages, now = [OutgoingMessage(MessageKind.UPDATE_CARDS, case_id=case_id)], svc.clock.now()
    await svc.db.write(lambda conn: outbox.enqueue(conn, messages, now))
