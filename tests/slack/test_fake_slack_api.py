"""The fake Slack Web API answers slack_sdk's AsyncWebClient like Slack does, refuses what Slack
refuses, and injects 429s and 500s that slack_sdk's own retry handlers recover from."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.web.async_client import AsyncWebClient

from tests.slack.fake_slack_api import BOT_TOKEN, FakeSlackAPI

USER = "U0LEE"


def client(fake: FakeSlackAPI, token: str = BOT_TOKEN, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=fake.url, **kwargs)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def buttons(**button: Any) -> dict[str, Any]:
    element = {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "go"}
    return {"type": "actions", "elements": [{**element, **button}]}


async def refusal(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


async def dm(fake: FakeSlackAPI, user: str = USER) -> str:
    opened = await client(fake).conversations_open(users=user)
    return str(opened["channel"]["id"])


async def test_the_url_is_a_base_url_on_a_random_local_port(fake_slack: FakeSlackAPI) -> None:
    assert fake_slack.url.startswith("http://127.0.0.1:")
    assert fake_slack.url.endswith("/api/")
    async with FakeSlackAPI() as other:
        assert other.url != fake_slack.url


async def test_auth_test_and_bad_tokens(fake_slack: FakeSlackAPI) -> None:
    answer = await client(fake_slack).auth_test()
    assert answer["ok"]
    assert answer["user_id"] == "U0BOT"
    assert (await refusal(client(fake_slack, "xoxb-wrong").auth_test())).response[
        "error"
    ] == "invalid_auth"
    assert (await refusal(AsyncWebClient(base_url=fake_slack.url).auth_test())).response[
        "error"
    ] == "not_authed"
    tokens = [c.token for c in fake_slack.calls("auth.test")]
    assert tokens == [BOT_TOKEN, "xoxb-wrong", None]


async def test_unknown_methods_are_refused(fake_slack: FakeSlackAPI) -> None:
    error = await refusal(client(fake_slack).api_call("chat.postMesage", json={"channel": "x"}))
    assert error.response["error"] == "unknown_method"


async def test_posting_records_the_call_and_gives_unique_increasing_ts(
    fake_slack: FakeSlackAPI,
) -> None:
    channel = await dm(fake_slack)
    assert channel == fake_slack.dm_channel(USER)
    assert fake_slack.calls("conversations.open")[0].params["users"] == USER  # a form/query call
    web = client(fake_slack)
    stamps = [
        (await web.chat_postMessage(channel=channel, text=f"hello {i}", blocks=[section("hi")]))[
            "ts"
        ]
        for i in range(3)
    ]
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3
    call = fake_slack.calls("chat.postMessage")[0]
    assert call.ok
    assert call.token == BOT_TOKEN
    assert call.params["blocks"] == [section("hi")]
    assert [m.text for m in fake_slack.messages_in(channel)] == ["hello 0", "hello 1", "hello 2"]


async def test_posting_to_a_user_id_goes_to_their_dm_and_unknown_channels_are_refused(
    fake_slack: FakeSlackAPI,
) -> None:
    answer = await client(fake_slack).chat_postMessage(channel=USER, text="hi")
    assert answer["channel"] == fake_slack.dm_channel(USER)
    error = await refusal(client(fake_slack).chat_postMessage(channel="C0NOWHERE", text="hi"))
    assert error.response["error"] == "channel_not_found"


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([section("x")] * 51, "/blocks"),
        ([section("x" * 3001)], "/blocks/0/text/text"),
        ([section("")], "/blocks/0/text/text"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}], "/fields"),
        ([{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}], "fields/0"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "/text/text"),
        ([buttons(value="v" * 2001)], "/elements/0/value"),
        ([buttons(action_id="a" * 256)], "/elements/0/action_id"),
        ([buttons(text={"type": "plain_text", "text": "b" * 76})], "/elements/0/text"),
        ([{**section("x"), "block_id": "b" * 256}], "/blocks/0/block_id"),
        ([{**section("x"), "block_id": "same"}, {**section("y"), "block_id": "same"}], "/blocks"),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/elements"),
    ],
)
async def test_block_kit_limits_are_refused(
    fake_slack: FakeSlackAPI, blocks: list[dict[str, Any]], pointer: str
) -> None:
    channel = await dm(fake_slack)
    error = await refusal(
        client(fake_slack).chat_postMessage(channel=channel, text="t", blocks=blocks)
    )
    assert error.response["error"] == "invalid_blocks"
    messages = error.response["response_metadata"]["messages"]
    assert any(pointer in m for m in messages), messages
    assert fake_slack.messages_in(channel) == []


async def test_text_rules(fake_slack: FakeSlackAPI) -> None:
    channel = await dm(fake_slack)
    web = client(fake_slack)
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns; Slack refuses
        no_text = await refusal(web.chat_postMessage(channel=channel))
    assert no_text.response["error"] == "no_text"
    too_long = web.chat_postMessage(channel=channel, text="x" * 40_001)
    assert (await refusal(too_long)).response["error"] == "msg_too_long"
    missing = await refusal(web.chat_postMessage(channel="", text="hi"))
    assert missing.response["error"] == "invalid_arguments"


async def test_blocks_in_a_form_body_are_decoded_and_checked(fake_slack: FakeSlackAPI) -> None:
    channel = await dm(fake_slack)
    form = {"channel": channel, "text": "hi", "blocks": json.dumps([section("x" * 3001)])}
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            fake_slack.url + "chat.postMessage",
            data=form,
            headers={"Authorization": f"Bearer {BOT_TOKEN}"},
        ) as response,
    ):
        answer = await response.json()
    assert answer["error"] == "invalid_blocks"
    assert fake_slack.calls("chat.postMessage")[0].params["blocks"][0]["text"]["text"] == "x" * 3001


async def test_update_edits_in_place_and_refuses_unknown_ts(fake_slack: FakeSlackAPI) -> None:
    channel = await dm(fake_slack)
    web = client(fake_slack)
    posted = await web.chat_postMessage(channel=channel, text="v1", blocks=[section("one")])
    await web.chat_update(channel=channel, ts=posted["ts"], text="v2", blocks=[section("two")])
    await web.chat_update(channel=channel, ts=posted["ts"], text="v3")  # blocks kept
    [message] = fake_slack.messages_in(channel)
    assert (message.text, message.blocks, message.updates) == ("v3", [section("two")], 2)
    unknown = web.chat_update(channel=channel, ts="1.000001", text="x")
    assert (await refusal(unknown)).response["error"] == "message_not_found"
    too_many = web.chat_update(
        channel=channel, ts=posted["ts"], text="t", blocks=[section("x")] * 51
    )
    assert (await refusal(too_many)).response["error"] == "invalid_blocks"
    assert fake_slack.messages_in(channel)[0].text == "v3"


async def test_ephemeral_messages_are_kept_apart(fake_slack: FakeSlackAPI) -> None:
    channel = await dm(fake_slack)
    answer = await client(fake_slack).chat_postEphemeral(channel=channel, user=USER, text="psst")
    assert answer["message_ts"]
    assert [e.text for e in fake_slack.ephemerals(USER)] == ["psst"]
    assert fake_slack.messages_in(channel) == []


async def test_people_and_missing_scopes(fake_slack: FakeSlackAPI) -> None:
    web = client(fake_slack)
    info = await web.users_info(user=USER)
    assert info["user"]["profile"]["email"] == "lee@acme.example"
    found = await web.users_lookupByEmail(email="LEE@acme.example")
    assert found["user"]["id"] == USER
    unknown = web.users_lookupByEmail(email="nobody@acme.example")
    assert (await refusal(unknown)).response["error"] == "users_not_found"
    fake_slack.revoke_scope("users:read.email")
    error = await refusal(web.users_lookupByEmail(email="lee@acme.example"))
    assert error.response["error"] == "missing_scope"
    assert error.response["needed"] == "users:read.email"
    assert "email" not in (await web.users_info(user=USER))["user"]["profile"]
    fake_slack.revoke_scope("im:write")
    assert (await refusal(web.conversations_open(users=USER))).response["error"] == "missing_scope"


def modal(**overrides: Any) -> dict[str, Any]:
    view = {
        "type": "modal",
        "callback_id": "cb",
        "title": {"type": "plain_text", "text": "Reject EXC-000001"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "blocks": [
            {
                "type": "input",
                "block_id": "why",
                "label": {"type": "plain_text", "text": "Why?"},
                "element": {"type": "plain_text_input", "action_id": "text", "multiline": True},
            }
        ],
    }
    return {**view, **overrides}


async def test_views(fake_slack: FakeSlackAPI) -> None:
    web = client(fake_slack)
    opened = await web.views_open(trigger_id="t1", view=modal(private_metadata="case:1:step:1"))
    assert fake_slack.views_opened()[0]["private_metadata"] == "case:1:step:1"
    again = web.views_open(trigger_id="t1", view=modal())
    assert (await refusal(again)).response["error"] == "exchanged_trigger_id"
    long_title = modal(title={"type": "plain_text", "text": "x" * 25})
    error = await refusal(web.views_open(trigger_id="t2", view=long_title))
    assert error.response["error"] == "invalid_arguments"
    no_submit = {k: v for k, v in modal().items() if k != "submit"}
    assert (await refusal(web.views_open(trigger_id="t3", view=no_submit))).response["error"]
    metadata = modal(private_metadata="m" * 3001)
    assert (await refusal(web.views_open(trigger_id="t4", view=metadata))).response["error"]

    view_id = opened["view"]["id"]
    await web.views_update(view_id=view_id, view=modal(callback_id="cb2"))
    assert fake_slack.views_opened()[0]["callback_id"] == "cb2"
    stale = web.views_update(view_id=view_id, hash="0.stale", view=modal())
    assert (await refusal(stale)).response["error"] == "hash_conflict"
    missing = web.views_update(view_id="V404", view=modal())
    assert (await refusal(missing)).response["error"] == "not_found"

    home = {"type": "home", "blocks": [section("hello")]}
    await web.views_publish(user_id=USER, view=home)
    assert fake_slack.home_of(USER) is not None
    assert fake_slack.home_of(USER)["blocks"] == [section("hello")]  # type: ignore[index]
    too_big = {"type": "home", "blocks": [section("x")] * 101}
    assert (await refusal(web.views_publish(user_id=USER, view=too_big))).response["error"]
    assert (await refusal(web.views_publish(user_id=USER, view=modal()))).response["error"]


async def test_429_with_retry_after_is_honoured_by_the_sdk_retry_handler(
    fake_slack: FakeSlackAPI,
) -> None:
    channel = await dm(fake_slack)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=1)
    web = client(fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    answer = await web.chat_postMessage(channel=channel, text="after the wait")
    assert answer["ok"]
    first, second = fake_slack.calls("chat.postMessage")
    assert (first.status, first.error, second.status) == (429, "ratelimited", 200)
    assert second.at - first.at >= 1.0  # the client waited Retry-After before trying again
    assert len(fake_slack.messages_in(channel)) == 1


async def test_without_a_retry_handler_429_and_500_reach_the_caller(
    fake_slack: FakeSlackAPI,
) -> None:
    channel = await dm(fake_slack)
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=30)
    error = await refusal(client(fake_slack).chat_postMessage(channel=channel, text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "30"
    fake_slack.fail_next("chat.postMessage", status=500)
    error = await refusal(client(fake_slack).chat_postMessage(channel=channel, text="x"))
    assert error.response.status_code == 500
    assert fake_slack.messages_in(channel) == []


async def test_500_is_retried_by_the_server_error_handler(fake_slack: FakeSlackAPI) -> None:
    channel = await dm(fake_slack)
    fake_slack.fail_next("chat.update", status=500, times=2)
    posted = await client(fake_slack).chat_postMessage(channel=channel, text="v1")
    quick = FixedValueRetryIntervalCalculator(fixed_internal=0.01)
    handler = AsyncServerErrorRetryHandler(max_retry_count=2, interval_calculator=quick)
    web = client(fake_slack, retry_handlers=[handler])
    await web.chat_update(channel=channel, ts=posted["ts"], text="v2")
    assert [c.status for c in fake_slack.calls("chat.update")] == [500, 500, 200]
    assert fake_slack.messages_in(channel)[0].text == "v2"


async def test_response_urls_record_and_check_what_is_posted(fake_slack: FakeSlackAPI) -> None:
    url = fake_slack.response_url("press-1")
    async with aiohttp.ClientSession() as session:
        async with session.post(url, json={"text": "ok", "response_type": "ephemeral"}) as r:
            assert r.status == 200
        async with session.post(url, json={"blocks": [section("x")] * 51}) as r:
            assert r.status == 400
    assert fake_slack.responses("press-1") == [{"text": "ok", "response_type": "ephemeral"}]


async def test_reset_forgets_what_happened_but_keeps_the_workspace(
    fake_slack: FakeSlackAPI,
) -> None:
    channel = await dm(fake_slack)
    await client(fake_slack).chat_postMessage(channel=channel, text="x")
    fake_slack.fail_next("auth.test", status=500)
    fake_slack.revoke_scope("chat:write")
    fake_slack.reset()
    assert fake_slack.calls() == []
    assert fake_slack.messages_in(channel) == []
    assert (await client(fake_slack).auth_test())["ok"]
    assert (await client(fake_slack).chat_postMessage(channel=channel, text="y"))["ok"]
