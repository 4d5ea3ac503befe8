"""A remediation item's card and a person's digest as Adaptive Cards 1.5 for Teams.

The item's card: while it is not closed, one text input (the root cause and fix, which Close
needs) and Action.Execute buttons, verb = the action id, data = {"remediation": item id,
"action": verb} with the input merged in as data[TEXT_INPUT]. A refusal comes back on the card
(`error`), the text typed kept. The digest: one line per waiting case or item, each with an
Action.Execute (verb DIGEST_OPEN, data {"open": "case:12"}) that shows its card.
"""

from __future__ import annotations

from typing import Any

from cards import actions
from cards.limits import truncate
from cards.remediation_view import DigestView, RemediationView
from cards.teams_elements import (
    ACTION_TITLE,
    ITEM_TEXT,
    SHORT_TEXT,
    TITLE_TEXT,
    Element,
    attention,
    card,
    heading,
    line,
    link_run,
    note,
    run,
)
from cards.view import Button

TEXT_INPUT = "remediation_text"
TEXT_MAX = 3000
DIGEST_SHOWN = 30  # lines on a digest card; the rest are counted
_STYLE = {"primary": "positive", "danger": "destructive"}


def _list(values: tuple[str, ...], omitted: int = 0) -> str:
    return (", ".join(values) or "none") + (f" and {omitted} more" if omitted else "")


def _fact(label: str, value: str) -> Element:
    return line(run(f"{label}: ", SHORT_TEXT, weight="bolder"), run(value, ITEM_TEXT))


def _action(button: Button) -> Element:
    item_id = actions.parse_remediation_button_value(button.value)
    if item_id is None or button.action_id not in actions.REMEDIATION_ACTIONS:
        raise ValueError(f"button {button.action_id!r} is not a remediation item's")
    action: Element = {
        "type": "Action.Execute",
        "title": truncate(button.label, ACTION_TITLE) or button.action_id,
        "verb": button.action_id,
        "data": {"remediation": item_id, "action": button.action_id},
    }
    if button.style in _STYLE:
        action["style"] = _STYLE[button.style]
    return action


def remediation_card(
    view: RemediationView, *, error: str | None = None, typed: str = ""
) -> dict[str, Any]:
    key = f" ({view.key})" if view.key else ""
    body: list[Element] = [
        line(run(f"{view.ref} · Remediation", TITLE_TEXT, size="large", weight="bolder")),
        line(
            run(f"{view.code}{key}: ", SHORT_TEXT, weight="bolder"), run(view.code_title, ITEM_TEXT)
        ),
        _fact("Status", f"{view.status.capitalize()}, owner {view.owner}"),
        _fact("Opened", view.opened),
        _fact("Due", view.due + (" (OVERDUE)" if view.overdue else "")),
        heading("Evidence"),
        _fact("Cases", _list(view.cases, view.cases_omitted)),
        _fact("Suppliers", _list(view.suppliers)),
        _fact("Cost centers", _list(view.cost_centers)),
        _fact("Leakage", _list(view.leakage)),
    ]
    if view.playbook:
        body.append(
            line(
                run("Playbook: ", SHORT_TEXT, weight="bolder"),
                link_run(view.playbook, view.playbook),
            )
        )
    for label, text in (
        ("Acknowledged", view.acknowledged),
        ("Escalated", view.escalated),
        ("Closed", view.closed),
        ("Root cause and fix", view.root_cause),
    ):
        if text:
            body.append(_fact(label, text))
    if view.notice:
        body.append(attention(view.notice))
    if error:
        body.append(attention(error))
    buttons = [_action(b) for b in view.buttons]
    if buttons:
        field: Element = {
            "type": "Input.Text",
            "id": TEXT_INPUT,
            "label": "Root cause and fix (to close)",
            "isMultiline": True,
            "maxLength": TEXT_MAX,
        }
        if typed:
            field["value"] = typed[:TEXT_MAX]
        body.append(field)
    return card(body, fallback=view.headline, actions=buttons)


def digest_card(view: DigestView) -> dict[str, Any]:
    body: list[Element] = [line(run(view.headline, TITLE_TEXT, weight="bolder"))]
    for entry in view.entries[:DIGEST_SHOWN]:
        due = f", due {entry.due}" if entry.due else ""
        late = " (OVERDUE)" if entry.overdue else ""
        parsed = actions.parse_open_button_value(entry.button.value)
        body.append(
            {
                "type": "ColumnSet",
                "columns": [
                    {
                        "type": "Column",
                        "width": "stretch",
                        "items": [
                            line(
                                run(f"{entry.ref} ", SHORT_TEXT, weight="bolder"),
                                run(entry.title, ITEM_TEXT),
                            ),
                            note(f"waiting since {entry.since}{due}{late}"),
                        ],
                    },
                    {
                        "type": "Column",
                        "width": "auto",
                        "items": [
                            {
                                "type": "ActionSet",
                                "actions": [
                                    {
                                        "type": "Action.Execute",
                                        "title": truncate(entry.button.label, ACTION_TITLE),
                                        "verb": actions.DIGEST_OPEN,
                                        "data": {"open": entry.button.value},
                                    }
                                ],
                            }
                        ]
                        if parsed is not None
                        else [],
                    },
                ],
            }
        )
    if len(view.entries) > DIGEST_SHOWN:
        body.append(note(f"{len(view.entries) - DIGEST_SHOWN} more: type approvals"))
    return card(body, fallback=view.headline)
