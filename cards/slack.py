"""A CardView as Slack Block Kit: the approval card, the case lists, the App Home view, notices,
and (re-exported from cards.slack_modals) the rationale and filing modals.

Pure functions of their inputs; every message dict carries `text` (the plain-text fallback for
notifications and screen readers) and stays within all of Slack's limits (cards.slack_blocks),
however long the case: when blocks run out, rules and history are folded into fewer blocks with a
note saying how many entries were left out.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cards.slack_blocks import (
    ITEM_TEXT,
    MESSAGE_BLOCKS,
    MESSAGE_TEXT,
    SECTION_FIELDS,
    SECTION_TEXT,
    SHORT_TEXT,
    VIEW_BLOCKS,
    Block,
    actions,
    allot,
    button,
    chunk_lines,
    context,
    divider,
    escape,
    fields_section,
    fold_lines,
    header,
    link,
    md,
    section,
)
from cards.slack_modals import (
    FILING_ACTION,
    FILING_BLOCKS,
    FILING_CALLBACK,
    RATIONALE_BLOCK,
    RATIONALE_CALLBACK,
    RATIONALE_INPUT,
    FilingInputError,
    filing_block_for,
    filing_modal,
    filing_values,
    rationale_modal,
    rationale_value,
)
from cards.view import Button, CardView, HistoryLine, RuleLine, StepLine

__all__ = [
    "FACT_SECTIONS",
    "FILING_ACTION",
    "FILING_BLOCKS",
    "FILING_CALLBACK",
    "RATIONALE_BLOCK",
    "RATIONALE_CALLBACK",
    "RATIONALE_INPUT",
    "FilingInputError",
    "card_message",
    "case_list_message",
    "fallback_text",
    "filing_block_for",
    "filing_modal",
    "filing_values",
    "home_view",
    "newest_first",
    "notice_message",
    "rationale_modal",
    "rationale_value",
]

FACT_SECTIONS = 3  # at most 30 facts on a card; more are folded into a "more" field
FACT_VALUE_TEXT = 1800  # a fact's value inside a 2000-character field

_STATUS_EMOJI = {
    "pending": ":hourglass_flowing_sand:",
    "approved": ":white_check_mark:",
    "rejected": ":x:",
    "withdrawn": ":leftwards_arrow_with_hook:",
    "expired": ":alarm_clock:",
    "revoked": ":no_entry_sign:",
}
_STEP_EMOJI = {
    "waiting": ":white_circle:",
    "open": ":large_orange_circle:",
    "approved": ":white_check_mark:",
    "rejected": ":x:",
    "cancelled": ":heavy_minus_sign:",
}
_CASE_NUMBER = re.compile(r"(\d+)\s*$")


def _buttons_block(buttons: Sequence[Button]) -> Block:
    return actions([button(b.action_id, b.label, b.value, b.style) for b in buttons])


# --- the approval card ---------------------------------------------------------------------


def _summary(view: CardView) -> Block:
    status = view.status.capitalize()
    lines = [
        f"*{md(view.exception_title, ITEM_TEXT)}*",
        f"{_STATUS_EMOJI.get(view.status, '')} *Status:* {md(status, SHORT_TEXT)}".strip(),
    ]
    if view.decision:
        lines.append(f":ballot_box_with_check: *Decision:* {md(view.decision, ITEM_TEXT)}")
    if view.due:
        lines.append(f":calendar: *Due:* {md(view.due, SHORT_TEXT)}")
    if view.case_due:
        overdue = " :red_circle: *OVERDUE*" if view.overdue else ""
        lines.append(f":hourglass: *Case due:* {md(view.case_due, SHORT_TEXT)}{overdue}")
    if view.playbook or view.owner:
        parts = [link(view.playbook, "Playbook")] if view.playbook else []
        if view.owner:
            parts.append(f"owner {md(view.owner, SHORT_TEXT)}")
        lines.append(f":book: {' · '.join(parts)}")
    if view.amended:
        lines.append(f":pencil2: *Amended:* {md(view.amended, ITEM_TEXT)}")
    if view.notice:
        lines.append(f":information_source: _{md(view.notice, ITEM_TEXT)}_")
    return section("\n".join(lines))


def _field(label: str, value: str) -> str:
    return f"*{md(label, SHORT_TEXT)}*\n{md(value, FACT_VALUE_TEXT)}"


def _fact_sections(view: CardView) -> list[Block]:
    fields = [_field(f.label, f.value) for f in view.facts]
    if view.references:
        refs = ", ".join(f"{r.label} {r.value}" for r in view.references)
        fields.append(_field("References", refs))
    room = FACT_SECTIONS * SECTION_FIELDS
    if len(fields) > room:
        left_out = len(fields) - (room - 1)
        fields = [*fields[: room - 1], f"_{left_out} more facts not shown_"]
    return [
        fields_section(fields[i : i + SECTION_FIELDS])
        for i in range(0, len(fields), SECTION_FIELDS)
    ]


def _rule_line(rule: RuleLine) -> str:
    return f"• {link(rule.url, rule.ref)} — {md(rule.why, ITEM_TEXT)}"


def _step_line(number: int, step: StepLine) -> str:
    emoji = _STEP_EMOJI.get(step.status, ":white_circle:")
    return (
        f"{emoji} {number}. *{md(step.tier, SHORT_TEXT)}* ({md(step.status, SHORT_TEXT)}): "
        f"{md(step.summary, ITEM_TEXT)}"
    )


def _history_line(entry: HistoryLine) -> str:
    return f"• `{md(entry.at, SHORT_TEXT)}` {md(entry.text, ITEM_TEXT)}"


def _flags(view: CardView) -> Block:
    flags = ", ".join(view.flags)
    return section(f":warning: *Risk flags:* {md(flags, SECTION_TEXT - 100)}")


@dataclass(frozen=True, slots=True)
class _Part:
    """A list on the card (route, rules, history...) that may be folded to fit."""

    heading: str
    lines: list[str]
    keep: str  # "first" or "last": which lines survive a fold
    omitted: str  # the note on what was left out, "{}" standing for the count


def _fold(parts: Sequence[_Part], budget: int) -> list[list[Block]]:
    """Each part's sections, sharing `budget` blocks in the parts' order of priority."""
    needed = [len(chunk_lines([p.heading, *p.lines])) if p.lines else 0 for p in parts]
    return [
        [
            section(text)
            for text in fold_lines(p.heading, p.lines, share, keep=p.keep, omitted=p.omitted)
        ]
        if p.lines
        else []
        for p, share in zip(parts, allot(needed, budget), strict=True)
    ]


def fallback_text(view: CardView) -> str:
    """The notification / screen-reader line of a card."""
    text = (
        view.headline
        if view.is_final or not view.buttons
        else f"Approval requested: {view.headline}"
    )
    return md(text, MESSAGE_TEXT)


def card_message(view: CardView) -> dict[str, Any]:
    """The approval card: `{"text": fallback, "blocks": [...]}` for chat.postMessage/update.

    Buttons (an actions block) only when the view has them; final cards have none.
    """
    head = [header(f"{view.case_ref} · {view.title}"), _summary(view)]
    facts = _fact_sections(view)
    flags = [_flags(view)] if view.flags else []
    tail = [divider(), _buttons_block(view.buttons)] if view.buttons else []
    budget = MESSAGE_BLOCKS - len(head) - len(facts) - len(flags) - len(tail)

    # In priority order: the route, the policy, the attachments, the escalations, the history.
    route, rules, attachments, escalations, history = _fold(
        [
            _Part(
                ":busstop: *Route*",
                [_step_line(i, s) for i, s in enumerate(view.route, 1)],
                "first",
                "_{} more steps not shown_",
            ),
            _Part(
                ":scroll: *Policy*",
                [_rule_line(r) for r in view.rules]
                + [f"• _{md(note, ITEM_TEXT)}_" for note in view.policy_notes],
                "first",
                "_{} more rules not shown_",
            ),
            _Part(
                ":paperclip: *Attachments*",
                [f"• {link(a.url, a.label)}" for a in view.attachments],
                "first",
                "_{} more attachments not shown_",
            ),
            _Part(
                ":rotating_light: *Escalation history*",
                [_history_line(h) for h in view.escalations],
                "last",
                "_{} earlier escalations not shown_",
            ),
            _Part(
                ":memo: *History*",
                [_history_line(h) for h in view.history],
                "last",
                "_{} earlier entries not shown_",
            ),
        ],
        budget,
    )
    blocks = [*head, *facts, *attachments, *rules, *flags, *route, *escalations, *history, *tail]
    return {"text": fallback_text(view), "blocks": blocks}


# --- lists of cases: /approvals, /exception list, App Home ---------------------------------


def _brief(view: CardView) -> Block:
    """One case in a few lines: ref and title, code, the key facts, where it stands."""
    facts = {f.label: f.value for f in view.facts}
    keys = [k for k in ("Amount", "Requester", "Supplier") if k in facts]
    lines = [
        f"*{md(view.case_ref, SHORT_TEXT)}* {md(view.title, ITEM_TEXT)}",
        md(view.exception_title, ITEM_TEXT),
    ]
    if keys:
        lines.append(" · ".join(md(facts[k], SHORT_TEXT) for k in keys))
    open_step = next((s for s in view.route if s.status == "open"), None)
    where = (
        f"*{md(open_step.tier, SHORT_TEXT)}*: {md(open_step.summary, ITEM_TEXT)}"
        if open_step is not None and not view.is_final
        else f"*{md(view.status.capitalize(), SHORT_TEXT)}*"
    )
    status = f"{_STATUS_EMOJI.get(view.status, '')} {where}".strip()
    if view.due and not view.is_final:
        status += f" · due {md(view.due, SHORT_TEXT)}"
    lines.append(status)
    return section("\n".join(lines))


def _case_blocks(view: CardView, *, with_buttons: bool) -> list[Block]:
    blocks = [_brief(view)]
    if with_buttons and view.buttons and not view.is_final:
        blocks.append(_buttons_block(view.buttons))
    return blocks


def _case_number(view: CardView) -> int:
    match = _CASE_NUMBER.search(view.case_ref)
    return int(match.group(1)) if match else -1


def newest_first(views: Sequence[CardView]) -> list[CardView]:
    """Cases newest first, by case number (EXC-000123); the sort is stable for equal numbers."""
    return sorted(views, key=_case_number, reverse=True)


def _listing(
    views: Sequence[CardView], budget: int, *, with_buttons: bool, more: str
) -> list[Block]:
    """As many cases as fit in `budget` blocks (newest first), with a note on the rest."""
    blocks: list[Block] = []
    ordered = newest_first(views)
    for shown, view in enumerate(ordered):
        item = _case_blocks(view, with_buttons=with_buttons)
        remaining = len(ordered) - shown
        reserve = 1 if remaining > 1 else 0  # room for the "more" note if this is not the last
        if len(blocks) + len(item) + reserve > budget:
            blocks.append(context([more.format(remaining)]))
            break
        blocks.extend(item)
    return blocks


def case_list_message(
    *, heading: str, views: Sequence[CardView], empty: str, with_buttons: bool = True
) -> dict[str, Any]:
    """A list of cases as one message (e.g. `/approvals`: each pending case with its buttons),
    newest first, within MESSAGE_BLOCKS; says how many more there are and that it is empty."""
    count = f" ({len(views)})" if views else ""
    blocks: list[Block] = [header(f"{heading}{count}")]
    if not views:
        blocks.append(section(md(empty, SECTION_TEXT)))
        return {"text": md(f"{heading}: {empty}", MESSAGE_TEXT), "blocks": blocks}
    blocks += _listing(
        views,
        MESSAGE_BLOCKS - len(blocks),
        with_buttons=with_buttons,
        more="_{} older cases not shown_",
    )
    return {"text": md(f"{heading}: {len(views)}", MESSAGE_TEXT), "blocks": blocks}


# --- App Home -----------------------------------------------------------------------------


def home_view(
    *, pending: Sequence[CardView], requests: Sequence[CardView], person_name: str
) -> dict[str, Any]:
    """The App Home tab (views.publish): pending approvals with their buttons, then the
    person's open requests, newest first, within VIEW_BLOCKS."""
    blocks: list[Block] = [
        header(f"Approvals for {person_name}"),
        context(["Procurement exceptions waiting for you, and the ones you filed."]),
        section(f"*Waiting for your approval* ({len(pending)})"),
    ]
    tail: list[Block] = [divider(), section(f"*Your open requests* ({len(requests)})")]
    room = VIEW_BLOCKS - len(blocks) - len(tail)
    # Pending cases take two blocks each (summary + buttons). Requests are sure of a third of
    # the room; whatever one list does not need goes to the other.
    pending_need = max(1, sum(len(_case_blocks(v, with_buttons=True)) for v in pending))
    request_room = min(max(1, len(requests)), room // 3)
    pending_room = min(pending_need, room - request_room)
    request_room = room - pending_room

    if pending:
        blocks += _listing(
            pending,
            pending_room,
            with_buttons=True,
            more="_{} more waiting for you; type `/approvals` to see them all_",
        )
    else:
        blocks.append(section(":tada: Nothing is waiting for your approval."))
    blocks += tail
    if requests:
        blocks += _listing(
            requests,
            request_room,
            with_buttons=False,
            more="_{} more open requests; type `/exception list` to see them all_",
        )
    else:
        blocks.append(section("You have no open requests. Type `/exception` to file one."))
    return {"type": "home", "blocks": blocks}


# --- notices ------------------------------------------------------------------------------


def notice_message(text: str, *, preformatted: bool = False) -> dict[str, Any]:
    """A short reply (ephemeral or DM): `{"text", "blocks"}`, with `text` escaped; a long text
    is split over sections. `preformatted` shows it as a code block (the help text)."""
    escaped = escape(text)
    if preformatted:
        body = [f"```{chunk}```" for chunk in chunk_lines(escaped.splitlines(), SECTION_TEXT - 6)]
    else:
        body = chunk_lines(escaped.splitlines() or [" "], SECTION_TEXT)
    blocks = [section(t) for t in body[:MESSAGE_BLOCKS]]
    return {"text": md(text, MESSAGE_TEXT), "blocks": blocks}
