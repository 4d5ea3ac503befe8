"""Cases for the dashboard's tests, filed and decided through the handlers (the policy is
tests/data/policy.yaml): every chart has something to draw, and one title is hostile."""

from __future__ import annotations

from datetime import timedelta

from handlers.clock import ManualClock
from handlers.commands import Decide
from handlers.context import Services
from handlers.deciding import decide
from storage.records import Action
from tests.handlers.conftest import file, person

H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
HOSTILE = '<script>alert("x")</script> racks'


async def seed(svc: Services, clock: ManualClock) -> None:
    """1 Laptops (Acme, 30000 EUR): lee approves 30 s in, maria 2 h in. 2 Monitors (Globex):
    approved by policy. 3 Office chairs (Initech): open. 4 Standing desks: lee rejects.
    5 the hostile title, filed by dana: lee approves without a rationale. Then a day passes."""
    start = clock.now()
    await file(svc, title="Laptops for the new hires", amount=30_000.0, supplier={"name": "Acme"})
    clock.set(start + 30 * S)
    await decide(svc, person("lee"), Decide(1, Action.APPROVE, "Needed for the new hires"))
    clock.set(start + 2 * H)
    await decide(svc, person("maria"), Decide(1, Action.APPROVE, "Within budget"))
    await file(
        svc,
        code="PRICE_MISMATCH",
        title="Monitors",
        amount=500.0,
        currency="USD",
        supplier={"name": "Globex"},
        details={"variance_pct": 1},
    )
    await file(svc, title="Office chairs", amount=1000.0, supplier={"name": "Initech"})
    await file(svc, title="Standing desks", amount=2000.0, supplier={"name": "Initech"})
    clock.set(start + 3 * H)
    await decide(svc, person("lee"), Decide(4, Action.REJECT, "Use the framework supplier"))
    await file(svc, by="dana", title=HOSTILE, amount=900.0, supplier={"name": "Evil <b>Corp</b>"})
    clock.set(start + 3 * H + 5 * M)
    await decide(svc, person("lee"), Decide(5, Action.APPROVE))
    clock.set(start + 27 * H)
