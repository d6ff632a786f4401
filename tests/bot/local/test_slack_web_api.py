"""The Slack stand-in's Web API methods and response_urls, driven over HTTP by the real slack_sdk clients."""

from __future__ import annotations

import json

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.local.slack_standin import SlackStandIn


def test_auth_test_names_the_bot(client: WebClient) -> None:
    response = client.auth_test()

    assert response["user_id"] == "U0OPSBOT"
    assert response["team_id"] == "T0STANDIN"


def test_a_posted_then_updated_message_shows_the_new_text(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*deploying*"}}]
    posted = client.chat_postMessage(channel="C0DEMO", text="deploying", blocks=blocks)
    client.chat_update(channel="C0DEMO", ts=posted["ts"], text="deployed")

    [message] = standin.messages("C0DEMO")
    assert message["ts"] == posted["ts"]
    assert message["text"] == "deployed"
    assert message["blocks"] == blocks  # chat.update without blocks keeps them, as Slack does
    assert [call.method for call in standin.calls] == ["chat.postMessage", "chat.update"]


def test_message_timestamps_increase(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel="C0DEMO", text=str(n))["ts"] for n in range(3)]

    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == 3


def test_form_encoded_blocks_are_recorded_as_objects(standin: SlackStandIn, client: WebClient) -> None:
    blocks = [{"type": "divider"}]
    client.api_call("chat.postMessage", params={"channel": "C0DEMO", "blocks": json.dumps(blocks)})

    [call] = standin.calls_to("chat.postMessage")
    assert call.params["blocks"] == blocks
    assert standin.messages("C0DEMO")[0]["blocks"] == blocks


def test_a_message_needs_a_channel_and_text(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as no_text:
        client.api_call("chat.postMessage", params={"channel": "C0DEMO"})
    with pytest.raises(SlackApiError) as no_channel:
        client.chat_postMessage(channel="", text="hello")

    assert no_text.value.response["error"] == "no_text"
    assert no_channel.value.response["error"] == "channel_not_found"


def test_updating_an_unknown_message_is_message_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.chat_update(channel="C0DEMO", ts="1.000100", text="nope")

    assert error.value.response["error"] == "message_not_found"


def test_an_ephemeral_message_is_seen_by_its_user_only(standin: SlackStandIn, client: WebClient) -> None:
    response = client.chat_postEphemeral(channel="C0DEMO", user="U0ALICE", text="only you")

    [message] = standin.messages("C0DEMO")
    assert message["ts"] == response["message_ts"]
    assert (message["response_type"], message["ephemeral_to"]) == ("ephemeral", "U0ALICE")


def test_files_upload_v2_stores_the_bytes_and_shares_them(standin: SlackStandIn, client: WebClient) -> None:
    content = bytes(range(256)) * 4

    response = client.files_upload_v2(
        channel="C0DEMO", content=content, filename="chart.png", title="CPU", initial_comment="last hour"
    )

    file_id = response["file"]["id"]
    assert standin.uploads[file_id]["content"] == content
    assert standin.uploads[file_id]["length"] == len(content)
    assert (standin.uploads[file_id]["title"], standin.uploads[file_id]["channel"]) == ("CPU", "C0DEMO")
    [message] = standin.messages("C0DEMO")
    assert message["text"] == "last hour"
    assert message["files"] == [{"id": file_id, "name": "chart.png", "title": "CPU", "size": len(content)}]
    methods = [call.method for call in standin.calls]
    assert methods == ["files.getUploadURLExternal", "upload", "files.completeUploadExternal"]


def test_completing_an_unknown_upload_is_file_not_found(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.files_completeUploadExternal(files=[{"id": "F0NOPE", "title": "x"}], channel_id="C0DEMO")

    assert error.value.response["error"] == "file_not_found"


def test_response_url_replies_show_and_replace_the_original(standin: SlackStandIn) -> None:
    webhook = WebhookClient(standin.new_response_url("C0OPS"))

    working = webhook.send(text="working…")
    webhook.send(text="3 instances", response_type="in_channel", replace_original=True)
    webhook.send(text="also this", response_type="in_channel")

    assert (working.status_code, working.body) == (200, "ok")
    shown = [(m["text"], m["response_type"]) for m in standin.messages("C0OPS")]
    assert shown == [("3 instances", "in_channel"), ("also this", "in_channel")]
    assert standin.calls_to("response_url")[0].params["text"] == "working…"


def test_delete_original_removes_the_response(standin: SlackStandIn) -> None:
    webhook = WebhookClient(standin.new_response_url())
    webhook.send(text="working…")

    webhook.send_dict({"delete_original": True})

    assert standin.messages("C0DEMO") == []


def test_an_unknown_response_url_is_404(standin: SlackStandIn) -> None:
    response = WebhookClient(f"{standin.base_url}/response/nope").send(text="hello")

    assert (response.status_code, response.body) == (404, "no_response_url")
    assert standin.calls_to("response_url")[0].params["response_url_id"] == "nope"


def test_an_unknown_method_is_unknown_method(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.api_call("reactions.add", params={"name": "tada"})

    assert error.value.response["error"] == "unknown_method"


def test_conversations_and_users(client: WebClient) -> None:
    assert client.conversations_info(channel="C0DEMO")["channel"]["is_member"] is True
    assert client.conversations_join(channel="C0DEMO")["ok"] is True
    assert [c["name"] for c in client.conversations_list()["channels"]] == ["demo"]
    assert client.users_info(user="U0ALICE")["user"]["tz"] == "Europe/Berlin"
