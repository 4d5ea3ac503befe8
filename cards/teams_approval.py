"""The Teams approval card: a CardView as an Adaptive Card 1.5 with the same content as the Slack
card, a rationale input and Action.Execute buttons when the view has buttons, and a refresh for
the assigned approvers. Import these from cards.teams, which re-exports them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from cards import actions
from cards.limits import truncate
from cards.teams_elements import (
    ACTION_TITLE,
    CARD_BUDGET,
    FACT_VALUE_TEXT,
    FALLBACK_TEXT,
    FLAGS_TEXT,
    ITEM_TEXT,
    MAX_REFRESH_USERS,
    SHORT_TEXT,
    TITLE_TEXT,
    Element,
    attention,
    card,
    defang,
    fold_to_fit,
    heading,
    kept_slice,
    line,
    link_run,
    note,
    run,
)
from cards.view import Button, CardView, HistoryLine, RuleLine, StepLine

RATIONALE_INPUT = "rationale"  # the id of the rationale input; its text arrives as data[id]
RATIONALE_MAX = 3000  # what the decision handler accepts
REFRESH_VERB = "exc_refresh"  # the verb of the card's refresh action
MAX_FACTS = 30  # facts on a card; more are counted in a note

_RATIONALE_PLACEHOLDER = (
    "Your rationale: required to reject or to request info, and to approve where policy says so"
)
_ACTION_STYLE = {"primary": "positive", "danger": "destructive"}
_STATUS_EMOJI = {
    "pending": "⏳",
    "approved": "✅",
    "rejected": "❌",
    "withdrawn": "↩️",
    "expired": "⏰",
    "revoked": "🚫",
}
_STEP_EMOJI = {"waiting": "⚪", "open": "🟠", "approved": "✅", "rejected": "❌", "cancelled": "➖"}


def fallback_text(view: CardView) -> str:
    """The notification / screen-reader line of a card (also fit for the activity's summary)."""
    text = (
        view.headline
        if view.is_final or not view.buttons
        else f"Approval requested: {view.headline}"
    )
    return truncate(text, FALLBACK_TEXT)


# --- the parts of the approval card ----------------------------------------------------------


def _summary(view: CardView) -> list[Element]:
    status = view.status.capitalize()
    lines = [
        line(
            run(f"{view.case_ref} · {view.title}", TITLE_TEXT, size="large", weight="bolder"),
        ),
        line(run(view.exception_title, ITEM_TEXT, weight="bolder")),
        line(
            f"{_STATUS_EMOJI.get(view.status, '')} ".lstrip(),
            run("Status: ", SHORT_TEXT, weight="bolder"),
            run(status, SHORT_TEXT),
        ),
    ]
    if view.decision:
        lines.append(
            line(
                "☑️ ", run("Decision: ", SHORT_TEXT, weight="bolder"), run(view.decision, ITEM_TEXT)
            )
        )
    if view.due:
        lines.append(
            line("📅 ", run("Due: ", SHORT_TEXT, weight="bolder"), run(view.due, SHORT_TEXT))
        )
    if view.case_due:
        overdue = [run(" OVERDUE", SHORT_TEXT, weight="bolder", color="attention")]
        lines.append(
            line(
                "⏳ ",
                run("Case due: ", SHORT_TEXT, weight="bolder"),
                run(view.case_due, SHORT_TEXT),
                *(overdue if view.overdue else []),
            )
        )
    if view.playbook or view.owner:
        owner = [run(f" · owner {view.owner}", SHORT_TEXT)] if view.owner else []
        playbook = [link_run(view.playbook, "Playbook")] if view.playbook else []
        lines.append(line("📖 ", *playbook, *owner))
    if view.amended:
        lines.append(
            line(run("Amended: ", SHORT_TEXT, weight="bolder"), run(view.amended, ITEM_TEXT))
        )
    if view.notice:
        lines.append(attention(view.notice))
    return lines


def _fact(label: str, value: str, value_limit: int = FACT_VALUE_TEXT) -> Element:
    """One fact of a FactSet; its title and value are markdown, so defanged."""
    return {
        "title": defang(truncate(label, SHORT_TEXT)) or " ",
        "value": defang(truncate(value, value_limit)) or " ",
    }


def _facts(view: CardView) -> list[Element]:
    facts = [_fact(f.label, f.value) for f in view.facts]
    if view.references:
        facts.append(
            _fact("References", ", ".join(f"{r.label} {r.value}" for r in view.references))
        )
    return facts


def _rule_line(rule: RuleLine) -> Element:
    return line("• ", link_run(rule.url, rule.ref), run(f" — {rule.why}", ITEM_TEXT))


def _step_line(number: int, step: StepLine) -> Element:
    return line(
        f"{_STEP_EMOJI.get(step.status, '⚪')} {number}. ",
        run(step.tier, SHORT_TEXT, weight="bolder"),
        run(f" ({truncate(step.status, SHORT_TEXT)}): {step.summary}", ITEM_TEXT),
    )


def _history_entry(entry: HistoryLine) -> Element:
    """A history entry as a fact (time: what happened): a table row costs fewer bytes than a
    paragraph, so more history fits on the card."""
    return _fact(entry.at, entry.text, ITEM_TEXT)


def _flags(view: CardView) -> Element:
    return line(
        "⚠️ ",
        run("Risk flags: ", SHORT_TEXT, weight="bolder"),
        run(", ".join(view.flags), FLAGS_TEXT),
    )


@dataclass(frozen=True, slots=True)
class _Part:
    """A list on the card (route, rules, history...) that may be folded to fit."""

    heading: str | None
    items: list[Element]  # paragraphs, or facts when `as_facts`
    keep: str  # "first" or "last": which items survive a fold
    omitted: str  # the note on what was left out, "{}" standing for the count
    as_facts: bool = False  # the items are shown as one FactSet
    beyond: int = 0  # items left out before any fold (over a cap)

    def render(self, kept: int) -> list[Element]:
        if not self.items:
            return []
        shown = kept_slice(self.items, kept, self.keep)
        if self.as_facts and shown:
            shown = [{"type": "FactSet", "facts": shown}]
        left_out = len(self.items) - kept + self.beyond
        notes = [note(self.omitted.format(left_out))] if left_out > 0 else []
        head = [heading(self.heading)] if self.heading else []
        if self.keep == "last":
            return [*head, *notes, *shown]
        return [*head, *shown, *notes]


# --- buttons, input, refresh -----------------------------------------------------------------


def _press_data(button: Button) -> dict[str, Any]:
    parsed = actions.parse_button_value(button.value)
    if parsed is None:
        raise ValueError(f"button value {button.value[:40]!r} is not a case and step")
    if not button.action_id:
        raise ValueError("a button needs an action id")
    case_id, step_id = parsed
    return {"case": case_id, "step": step_id, "action": button.action_id}


def _action(button: Button) -> Element:
    action: Element = {
        "type": "Action.Execute",
        "title": truncate(button.label, ACTION_TITLE) or button.action_id,
        "verb": button.action_id,
        "data": _press_data(button),
    }
    if button.style in _ACTION_STYLE:
        action["style"] = _ACTION_STYLE[button.style]
    return action


def _rationale_input(rationale: str) -> Element:
    field: Element = {
        "type": "Input.Text",
        "id": RATIONALE_INPUT,
        "label": "Rationale",
        "isMultiline": True,
        "maxLength": RATIONALE_MAX,
        "placeholder": _RATIONALE_PLACEHOLDER,
    }
    if rationale:
        field["value"] = rationale[:RATIONALE_MAX]
    return field


def _refresh(view: CardView, user_ids: Sequence[str]) -> Element | None:
    """Refresh for the first MAX_REFRESH_USERS distinct user ids; none on a final card."""
    users = list(dict.fromkeys(u for u in user_ids if u))[:MAX_REFRESH_USERS]
    if view.is_final or not users:
        return None
    data: dict[str, Any] = {"case_ref": view.case_ref}
    if view.buttons:
        press = _press_data(view.buttons[0])
        data |= {"case": press["case"], "step": press["step"]}
    return {
        "action": {"type": "Action.Execute", "verb": REFRESH_VERB, "data": data},
        "userIds": users,
    }


# --- the approval card -----------------------------------------------------------------------


def approval_card(
    view: CardView,
    *,
    refresh_user_ids: Sequence[str] = (),
    error: str | None = None,
    rationale: str = "",
) -> dict[str, Any]:
    """The approval card as an Adaptive Card 1.5, under CARD_BUDGET bytes.

    Only when the view has buttons: a rationale input (`RATIONALE_INPUT`) and one Action.Execute
    per button, verb = the action id, data = {"case", "step", "action"}. `error` (e.g. "A
    rejection needs a rationale") is shown above the input, with the `rationale` the person
    typed kept in it. `refresh_user_ids` (Teams user ids, at most MAX_REFRESH_USERS kept) makes
    a stale card re-render itself for them via REFRESH_VERB; final cards have no refresh.
    """
    interactive = bool(view.buttons) and not view.is_final
    summary = _summary(view)
    flags = [_flags(view)] if view.flags else []
    facts = _facts(view)
    parts = [
        _Part(
            "🚏 Route",
            [_step_line(i, s) for i, s in enumerate(view.route, 1)],
            "first",
            "{} more steps not shown",
        ),
        _Part(
            "📜 Policy",
            [_rule_line(r) for r in view.rules]
            + [line(run(f"• {note}", ITEM_TEXT, italic=True)) for note in view.policy_notes],
            "first",
            "{} more rules not shown",
        ),
        _Part(
            "🚨 Escalation history",
            [_history_entry(h) for h in view.escalations],
            "last",
            "{} earlier escalations not shown",
            as_facts=True,
        ),
        _Part(
            "📝 History",
            [_history_entry(h) for h in view.history],
            "last",
            "{} earlier entries not shown",
            as_facts=True,
        ),
        _Part(
            None,
            facts[:MAX_FACTS],
            "first",
            "{} more facts not shown",
            as_facts=True,
            beyond=max(0, len(facts) - MAX_FACTS),
        ),
        _Part(
            "📎 Attachments",
            [line("• ", link_run(a.url, a.label)) for a in view.attachments],
            "first",
            "{} more attachments not shown",
        ),
    ]
    buttons = [_action(b) for b in view.buttons] if interactive else []
    refresh = _refresh(view, refresh_user_ids)

    def build(kept: Sequence[int], typed: str) -> dict[str, Any]:
        route, rules, escalations, history, fact_set, attachments = (
            p.render(k) for p, k in zip(parts, kept, strict=True)
        )
        body = [*summary, *fact_set, *attachments, *rules, *flags, *route, *escalations, *history]
        if error:
            body.append(attention(error))
        if interactive:
            body.append(_rationale_input(typed))
        return card(body, fallback=fallback_text(view), actions=buttons, refresh=refresh)

    counts = [len(p.items) for p in parts]
    # Give way first: history, escalations, attachments, rules, facts, and the route last.
    order = [3, 2, 5, 1, 4, 0]
    floors = [len(view.route), 3, 2, 3, 6, 3]  # kept before any list gives way entirely
    for typed in dict.fromkeys((rationale, "")):
        fitted = fold_to_fit(partial(build, typed=typed), counts, order=order, floors=floors)
        if fitted is not None:
            return fitted
    raise ValueError(f"the card for {view.case_ref[:40]!r} does not fit in {CARD_BUDGET} bytes")


def error_card(
    view: CardView, message: str, *, rationale: str = "", refresh_user_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """The approval card answering a press that failed validation: `message` in attention
    colour above the rationale input, which keeps what the person typed."""
    return approval_card(
        view, refresh_user_ids=refresh_user_ids, error=message, rationale=rationale
    )
