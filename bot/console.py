"""The local console: a chat in the terminal, no Slack or Teams needed.

It reads commands line by line (so it can be scripted and tested), runs them through the
same handlers, outbox and card views as the chat platforms, and prints every delivered card
with numbered buttons. `as dana` switches who you are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass
from typing import TextIO

from bot.chat_commands import (
    UsageError,
    parse_approvals_command,
    parse_exception_command,
    policy_resolver,
)
from bot.console_audit import console_audit
from bot.console_chat import chat_notice, console_only
from bot.conversation import Reply, run_command
from bot.dashboard_access import DashboardAccess
from bot.delivery import OutboxDeliverer
from bot.messaging import PostedCard
from bot.policy_chat import parse_policy_command
from bot.policy_follower import PolicyFollower
from bot.replies import error_text
from bot.scheduler import SweepScheduler
from cards import actions
from cards.console import render_console
from cards.console_proposal import render_proposal_console
from cards.console_remediation import render_digest_console, render_remediation_console
from cards.proposal_view import ProposalView
from cards.remediation_view import DigestView, RemediationView
from cards.view import Button, CardView
from handlers.commands import Answer, Decide
from handlers.context import Actor, Services
from handlers.deciding import answer_question, decide
from handlers.errors import DomainError
from handlers.queries import case_details
from policy.model import Person
from storage.chat_presence import chat_platforms_used

PLATFORM = "console"

CONSOLE_HELP = """\
Console commands:
  as PERSON            act as someone from the policy (id or email); `people` lists them
  whoami               who you are now
  N [rationale]        press button [N] on a card (also: press N [rationale])
  /exception ...       file and follow exceptions (/exception help)
  /approvals ...       your approvals queue (/approvals help)
  /policy ...          admins: change the policy, with a second admin's approval
  /audit ...           auditors: verify the audit log, export it to a file (/audit help)
  quit                 leave (end of input works too)
Lines starting with # are ignored, so scripts can carry comments."""


@dataclass(frozen=True, slots=True)
class _Pressable:
    button: Button
    case_ref: str


class ButtonBoard:
    """Numbers every button the console shows, so `3` means one button of one card."""

    def __init__(self) -> None:
        self._buttons: dict[int, _Pressable] = {}
        self._next = 1

    def number(self, view: CardView) -> list[int]:
        numbers = []
        for button in view.buttons:
            self._buttons[self._next] = _Pressable(button, view.case_ref)
            numbers.append(self._next)
            self._next += 1
        return numbers

    def get(self, number: int) -> _Pressable | None:
        return self._buttons.get(number)


class ConsoleMessenger:
    """Delivers outbox messages by printing them. Everyone's cards show in one terminal."""

    platform = PLATFORM

    def __init__(self, out: TextIO, board: ButtonBoard) -> None:
        self.out = out
        self.board = board
        self._last_shown: dict[str, str] = {}
        self._cards = 0

    def reaches(self, person: Person) -> bool:
        return True

    def _show(self, heading: str, view: CardView) -> None:
        """Print the card, or only its buttons when the same card was just printed."""
        plain = render_console(view)
        numbers = self.board.number(view)
        if self._last_shown.get(view.case_ref) != plain:
            print(heading, file=self.out)
            print(render_console(view, numbers), file=self.out)
            self._last_shown[view.case_ref] = plain
            return
        buttons = "  ".join(f"[{n}] {b.label}" for n, b in zip(numbers, view.buttons, strict=True))
        print(f"{heading} the card above{', with ' + buttons if buttons else ''}", file=self.out)

    async def post_card(self, person: Person, view: CardView) -> PostedCard:
        self._cards += 1
        self._show(f"→ card for {person.name} ({person.id}):", view)
        return PostedCard(channel=person.id, message_id=str(self._cards))

    async def update_card(self, person: Person, where: PostedCard, view: CardView) -> None:
        self._show(f"↻ card updated for {person.name} ({person.id}):", view)

    async def notify(self, person: Person, text: str) -> None:
        print(f"→ message for {person.name} ({person.id}): {text}", file=self.out)

    async def post_proposal(self, person: Person, view: ProposalView) -> PostedCard:
        self._cards += 1
        print(f"→ policy card for {person.name} ({person.id}):", file=self.out)
        print(render_proposal_console(view), file=self.out)
        return PostedCard(channel=person.id, message_id=str(self._cards))

    async def update_proposal(self, person: Person, where: PostedCard, view: ProposalView) -> None:
        print(f"↻ policy card updated for {person.name} ({person.id}):", file=self.out)
        print(render_proposal_console(view), file=self.out)

    async def post_remediation(self, person: Person, view: RemediationView) -> PostedCard:
        self._cards += 1
        print(f"→ remediation card for {person.name} ({person.id}):", file=self.out)
        print(render_remediation_console(view), file=self.out)
        return PostedCard(channel=person.id, message_id=str(self._cards))

    async def update_remediation(
        self, person: Person, where: PostedCard, view: RemediationView
    ) -> None:
        print(f"↻ remediation card updated for {person.name} ({person.id}):", file=self.out)
        print(render_remediation_console(view), file=self.out)

    async def post_digest(self, person: Person, view: DigestView) -> None:
        print(f"→ digest for {person.name} ({person.id}):", file=self.out)
        print(render_digest_console(view), file=self.out)


class ConsoleSession:
    """`sweep_seconds` runs the overdue sweep in the background that often (None: never);
    reminders and escalations it sends print like every other message. `dashboard` makes
    the links `/approvals dashboard` prints."""

    def __init__(
        self,
        services: Services,
        inp: TextIO,
        out: TextIO,
        *,
        sweep_seconds: float | None = None,
        dashboard: DashboardAccess | None = None,
        chat: Collection[str] = (),
    ) -> None:
        self.svc = services
        self.dashboard = dashboard  # links are printed: the console is the person at it
        self.inp = inp
        self.out = out
        self.board = ButtonBoard()
        self.messenger = ConsoleMessenger(out, self.board)
        self.deliverer = OutboxDeliverer(services, [self.messenger])
        self.chat = frozenset(chat)  # Slack, Teams configured here; run() adds the database's
        self.me: Person | None = next(iter(services.policy.people.values()), None)
        self._pending_line: str | None = None
        self._busy = asyncio.Lock()  # one of: a typed command, or background delivery
        self.sweeps = (
            SweepScheduler(services, sweep_seconds, after=self._deliver, checkpoints=False)
            if sweep_seconds is not None
            else None
        )

    async def _deliver(self) -> None:
        async with self._busy:
            await self._deliver_due()

    async def _deliver_due(self) -> None:
        # the policy in force may change who has a chat account
        self.deliverer.only_for = console_only(self.svc.policy, self.chat)
        await self.deliverer.deliver_due()

    def say(self, text: str) -> None:
        print(text, file=self.out)

    async def _read(self, prompt: str) -> str | None:
        if self._pending_line is not None:
            line, self._pending_line = self._pending_line, None
            return line
        if self.inp.isatty():
            self.out.write(prompt)
            self.out.flush()
        line = await asyncio.to_thread(self.inp.readline)
        return None if line == "" else line.rstrip("\n")

    async def run(self) -> int:
        policy = self.svc.policy
        self.say(f"Approvals console. Policy: {policy.name} (version {policy.version[:12]}).")
        self.say("Type `help` for commands, `people` for who is who; README.md has a walkthrough.")
        if self.me:
            self.say(f"You are {self.me.name} ({self.me.id}).")
        async with self.svc.db.reading() as conn:
            self.chat |= await chat_platforms_used(conn)
        if self.chat:
            self.say(chat_notice(policy, self.chat))
        await self._deliver()
        # The background work of a real console: the overdue sweep, the policy in force.
        follower = PolicyFollower(self.svc) if self.sweeps is not None else None
        if self.sweeps is not None and follower is not None:
            self.sweeps.start()
            follower.start()
        try:
            await self._converse()
        finally:
            if self.sweeps is not None and follower is not None:
                await follower.stop()
                await self.sweeps.stop()
        self.say("Bye.")
        return 0

    async def _converse(self) -> None:
        while True:
            line = await self._read(f"{self.me.id if self.me else '?'}> ")
            if line is None:
                break
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            if text in ("quit", "exit"):
                break
            async with self._busy:
                await self.handle(text)
                await self._deliver_due()

    async def handle(self, text: str) -> None:
        head, _, rest = text.partition(" ")
        if head == "help":
            self.say(CONSOLE_HELP)
        elif head == "people":
            self._people()
        elif head == "whoami":
            self.say(f"You are {self.me.name} ({self.me.id})." if self.me else "You are nobody.")
        elif head == "as":
            self._switch(rest.strip())
        elif head == "press" or head.isdigit():
            await self._press(rest if head == "press" else text)
        elif head == "/audit":
            if (actor := self._actor()) is not None:
                await console_audit(self.svc, actor, rest, self.say)
        elif head in ("/exception", "/approvals", "/policy"):
            await self._command(head, rest)
        else:
            self.say(f"Unknown command {head!r}. Type `help`.")

    def _people(self) -> None:
        for person in self.svc.policy.people.values():
            roles = f" [{', '.join(sorted(person.roles))}]" if person.roles else ""
            self.say(f"  {person.id:<10} {person.name} <{person.email}>{roles}")

    def _switch(self, who: str) -> None:
        person = self.svc.policy.find_person(who) if who else None
        if person is None:
            self.say(f"Nobody called {who!r} in the policy. Type `people` to see who is.")
            return
        self.me = person
        self.say(f"You are now {person.name} ({person.id}).")

    def _actor(self) -> Actor | None:
        if self.me is None:
            self.say("Choose who you are first: `as PERSON`.")
            return None
        return Actor(self.me.id, PLATFORM)

    async def _command(self, head: str, rest: str) -> None:
        actor = self._actor()
        if actor is None:
            return
        try:
            resolve = policy_resolver(self.svc.policy)
            if head == "/exception":
                command = parse_exception_command(rest)
            elif head == "/policy":
                command = parse_policy_command(rest, resolve)
            else:
                command = parse_approvals_command(rest, resolve)
        except UsageError as error:
            self.say(str(error))
            return
        self._reply(await run_command(self.svc, actor, command, self.dashboard))

    def _reply(self, reply: Reply) -> None:
        self.say(reply.text)
        for card in reply.cards:
            self.say(render_console(card, self.board.number(card)))

    async def _press(self, args: str) -> None:
        """Press a button. The case model says first whether you may act at all (if not,
        you are told why at once) and then whether a reason is needed (then it is asked)."""
        number_text, _, typed = args.strip().partition(" ")
        pressable = self.board.get(int(number_text)) if number_text.isdigit() else None
        if pressable is None:
            self.say(f"There is no button [{number_text}] on the cards shown.")
            return
        actor = self._actor()
        parsed = actions.parse_button_value(pressable.button.value)
        if actor is None or parsed is None:
            return
        case_id, step_id = parsed
        action = actions.decision_of(pressable.button.action_id)
        text = typed.strip() or None
        try:
            model = (await case_details(self.svc, case_id)).model
            if action is None:  # Answer
                permission = model.may_answer(actor.id)
                prompt = "Type your answer on the next line (empty to cancel)."
            else:
                permission = model.may_act(self.svc.policy, actor.id, action, step_id)
                prompt = (
                    f"{permission.rationale_prompt} Type it on the next line (empty to cancel)."
                )
            needs_text = action is None or permission.rationale_required
            if permission.allowed and needs_text and text is None:
                self.say(prompt)
                text = await self._ask()
                if text is None:
                    return
            if action is None:
                result = await answer_question(self.svc, actor, Answer(case_id, text or ""))
            else:
                result = await decide(self.svc, actor, Decide(case_id, action, text, step_id))
            self.say(result.message)
        except DomainError as error:
            self.say(error.message)
        except Exception as error:
            self.say(error_text(error))

    async def _ask(self) -> str | None:
        """The next line as a reason, or None (cancelled) if it is empty or a command."""
        answer = await self._read("Rationale: ")
        if answer is None or not answer.strip() or answer.lstrip().startswith("/"):
            # A command instead of a reason: cancel the press, run the command.
            self._pending_line = answer
            self.say("Cancelled: no rationale given.")
            return None
        return answer
