"""One case, two platforms: the first approver decides in Slack, the second in Teams, and
every card on both platforms follows the case."""

from __future__ import annotations

import json

from cards import actions
from handlers.clock import ManualClock
from handlers.context import Services
from storage.database import Database
from storage.records import CaseStatus
from tests.slack.conftest import fake_slack
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI
from tests.slack.harness import SECRET, SlackHarness, buttons_of
from tests.teams.activities import TeamsActivities
from tests.teams.fake_connector import FakeConnector
from tests.teams.fake_openid import FakeOpenID
from tests.teams.fake_token import FakeTokenEndpoint
from tests.teams.harness import MARIA, RITA, TeamsHarness, running, served, settings_for
from tests.teams.harness import buttons_of as _buttons
from tests.teams.harness import teams_policy as _teams_policy
from tests.teams.test_flows import _press

__all__ = ["fake_slack"]


async def test_slack_first_then_teams(
    db: Database,
    clock: ManualClock,
    fake_slack: FakeSlackAPI,
    fake_openid: FakeOpenID,
    fake_token: FakeTokenEndpoint,
    fake_connector: FakeConnector,
    teams_activities: TeamsActivities,
) -> None:
    services = Services(db=db, policy=_teams_policy(), clock=clock)
    settings = settings_for(
        fake_openid,
        fake_token,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        SLACK_API_URL=fake_slack.url,
    )
    async with running(services, settings) as runtime, served(runtime) as http:
        teams = TeamsHarness(
            services, runtime, http, fake_openid, fake_connector, fake_token, teams_activities
        )
        slack = SlackHarness(services, runtime, None, fake_slack, http)
        assert (await teams.send(teams_activities.installation(RITA)))[0] == 200
        ref = await teams.file(amount=30000.0)  # category-lead (lee on Slack), then maria
        await teams.settle()

        lee_card = slack.card_of("U0LEE")
        await slack.press("U0LEE", lee_card, actions.APPROVE)
        await teams.settle()

        [maria_card] = await teams.cards_for("maria")
        await _press(teams, MARIA, actions.APPROVE, _buttons(maria_card)[actions.APPROVE])
        await teams.settle()

        details = await teams.details(ref)
        assert details.case.status is CaseStatus.APPROVED
        assert [(d.person, d.platform) for d in details.decisions] == [
            ("lee", "slack"),
            ("maria", "teams"),
        ]
        # Lee's Slack card and Dana's Teams card were both updated to the final state.
        assert buttons_of(slack.card_of("U0LEE")) == {}
        assert "approved" in json.dumps(slack.card_of("U0LEE").blocks).lower()
        assert _buttons((await teams.cards_for("dana"))[0]) == {}
