"""Issue 14 through `logs_handler`: a forwarded log group's name went raw into the message's text.
The payload is a real gzip+base64 subscription payload; what reaches the Slack stand-in over HTTP
is checked by tests/live_markup.py."""

from __future__ import annotations

from bot import lambda_handler
from bot.local.slack_standin import SlackStandIn
from tests.commands.tail.conftest import sample_rows
from tests.commands.tail.test_forwarder import CHANNEL, CONTEXT, payload, standin  # noqa: F401  (the fixture)
from tests.live_markup import assert_inert

GROUP = "/aws/lambda/quiet-<!channel>```<https://evil.example|x>"  # routed by the prefix /aws/lambda/quiet-


def test_a_hostile_log_group_name_and_log_lines_reach_the_channel_escaped(standin: SlackStandIn) -> None:  # noqa: F811
    rows = sample_rows("classic_python.jsonl")
    stream = rows[0]["stream"]
    rows += [
        {"timestamp": rows[-1]["timestamp"] + 1, "stream": stream, "message": f"ERROR <!here> ``` {n} &amp;\n"}
        for n in range(3)
    ]
    result = lambda_handler.logs_handler(payload(GROUP, rows), CONTEXT)  # type: ignore[attr-defined]

    assert result["status"] == "posted"
    assert_inert([call.params for call in standin.calls])
    (message,) = standin.messages(CHANNEL)
    assert message["text"].startswith("quiet-&lt;!channel&gt;`\u200b`\u200b`&lt;https://evil.example|x&gt;: ")
