"""Issue 14 at the way out: what delivery writes itself (a progress line, the note that Slack refused a
post, an upload's title) quotes outside text, and reaches the stand-in escaped."""

from __future__ import annotations

from slack_bolt import Respond

from bot.local.slack_standin import SlackStandIn
from bot.reply import Attachment, Reply
from bot.slack.delivery import SlackProgress
from bot.state import Store
from tests.bot.slack.test_delivery_failures import delivery_to
from tests.live_markup import assert_inert

CHANNEL = "C0HOSTILE"


def test_a_progress_line_quoting_outside_text_is_escaped(standin: SlackStandIn, store: Store) -> None:
    SlackProgress(delivery_to(standin, store), CHANNEL)("Reading /aws/lambda/<!channel>```…")
    (call,) = standin.calls_to("chat.postMessage")
    assert_inert(call.params)
    assert call.params["text"] == "Reading /aws/lambda/&lt;!channel&gt;`\u200b`\u200b`…"


def test_slacks_refusal_quoted_to_the_caller_is_escaped(standin: SlackStandIn, store: Store) -> None:
    url = standin.new_response_url(CHANNEL)
    standin.fail_next("chat.postMessage", status=200, error="<!here>")
    sent = delivery_to(standin, store).send(Reply("x", replace_key="k"), Respond(response_url=url), CHANNEL)
    assert sent.result(timeout=10) is False
    (note,) = standin.replies_to(url)
    assert_inert(note)
    assert "Slack answered &lt;!here&gt;." in note["text"]


def test_an_uploads_title_is_its_escaped_filename_when_it_has_none(standin: SlackStandIn, store: Store) -> None:
    reply = Reply("a file", files=(Attachment("<!channel>.txt", b"x"),))
    delivery_to(standin, store).post(CHANNEL, reply).result(timeout=10)
    assert_inert([call.params for call in standin.calls if call.method != "files.getUploadURLExternal"])
    assert "&lt;!channel&gt;.txt" in str(standin.calls_to("files.completeUploadExternal")[0].params)
