"""Who a Slack user is: by the policy's `slack:` id, else by the email Slack confirmed, only
for members of this workspace (never a guest, never a Slack Connect user of another
organisation), and not at all with SLACK_EMAIL_IDENTITY off. Against the fake Web API."""

from __future__ import annotations

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.directory import SlackDirectory
from policy.model import Policy
from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI, SlackUser


def _directory(fake: FakeSlackAPI, policy: Policy, *, on: bool = True) -> SlackDirectory:
    client = AsyncWebClient(token=BOT_TOKEN, base_url=fake.url)
    return SlackDirectory(client, lambda: policy, email_identity=on)


async def test_a_member_without_a_slack_id_is_found_by_email(
    fake_slack: FakeSlackAPI, policy: Policy
) -> None:
    directory = _directory(fake_slack, policy)
    carl = await directory.person_for("U0CARL")  # carl has no slack: id, only an email
    assert carl is not None
    assert carl.id == "carl"
    assert await directory.user_id_for(carl) == "U0CARL"


@pytest.mark.parametrize(
    "user",
    [
        SlackUser("U0GUEST", "sam@acme.example", "Sam as a guest", guest=True),
        SlackUser("U0OTHER", "sam@acme.example", "Sam elsewhere", team_id="T0OTHERORG"),
    ],
)
async def test_guests_and_other_organisations_are_never_mapped_by_email(
    fake_slack: FakeSlackAPI, policy: Policy, user: SlackUser
) -> None:
    fake_slack.add_user(user)
    directory = _directory(fake_slack, policy)
    assert await directory.person_for(user.id) is None


async def test_without_email_identity_only_slack_ids_count(
    fake_slack: FakeSlackAPI, policy: Policy
) -> None:
    directory = _directory(fake_slack, policy, on=False)
    assert await directory.person_for("U0CARL") is None
    lee = await directory.person_for("U0LEE")  # lee has slack: U0LEE in the policy
    assert lee is not None
    assert lee.id == "lee"
    assert await directory.user_id_for(policy.people["carl"]) is None
    assert not fake_slack.calls("users.info")
