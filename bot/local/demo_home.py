"""The demo's App Home scene: an engineer opens opsbot's Home tab (their tokens from the /eb-ip scene,
the game the /scores scene polls, the capacity monitor), revokes their tokens from it, and mentions
@opsbot in the channel, which answers in the thread."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.local.slack_requests import home_button_form, home_opened, mentioned, send_signed
from bot.slack.blocks import buttons

if TYPE_CHECKING:
    from bot.local.demo import DemoBot, Entry

_MENTION_TS = "1700000000.000100"  # the mention's own ts: the answer threads under it


def _home(bot: DemoBot, user: str, said: str, body: str | dict[str, str]) -> Entry:
    """Send what Slack sends (an event, a button press on the Home), then show the Home it republished."""
    from bot.local.demo import Entry

    published = len(bot.standin.calls_to("views.publish"))  # counted before: the publish may be quick
    status = send_signed(f"{bot.base_url}/slack/events", bot.signing_secret, body).status
    bot.standin.wait_for("views.publish", published + 1, timeout=60)
    view = bot.standin.home_of(user) or {"blocks": []}
    entry = Entry(who=user, said=said, ack=f"HTTP {status}")
    entry.replies = [{"text": "", "blocks": view["blocks"], "response_type": "home"}]
    bot.transcript.append(entry)
    return entry


def home_scene(bot: DemoBot) -> None:
    from bot.local.demo import CHANNEL, ENGINEER, Entry

    events, secret = f"{bot.base_url}/slack/events", bot.signing_secret
    bot.narrate("The App Home: what opsbot can do, and what it is doing for the one looking")
    opened = _home(bot, ENGINEER, "[opens opsbot's Home tab]", home_opened(ENGINEER))
    revoke = next(b for b in buttons(opened.replies[0]["blocks"]) if b["action_id"] == "eb_ip_revoke_my_tokens")
    pressed = home_button_form(revoke["action_id"], revoke["value"], ENGINEER)
    _home(bot, ENGINEER, "[presses “Revoke my tokens” on the Home tab]", pressed)

    posts = len(bot.standin.calls_to("chat.postMessage"))
    mention = mentioned("<@U0OPSBOT> what can you do?", _MENTION_TS, ENGINEER, CHANNEL)
    status = send_signed(events, secret, mention).status
    answers: list[dict[str, Any]] = []
    while not answers:  # other scenes' jobs may post meanwhile: wait post by post for the one in the thread
        posts += 1
        bot.standin.wait_for("chat.postMessage", posts, timeout=60)
        answers = [m for m in bot.standin.messages(CHANNEL) if m.get("thread_ts") == _MENTION_TS]
    entry = Entry(who=ENGINEER, said="@opsbot what can you do?", ack=f"HTTP {status}")
    entry.replies = [{**answer, "response_type": "thread"} for answer in answers]
    bot.transcript.append(entry)
