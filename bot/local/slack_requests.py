"""What Slack sends the bot: slash-command and button-press forms, signed with the signing secret.

The tests, the benchmarks and `opsbot demo` play Slack's part with these against the bot's /slack/events.
"""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

APP_ID = "A0OPSBOT"


@dataclass(frozen=True)
class Delivery:
    """What the bot answered to a request Slack signed and sent it."""

    status: int
    body: str
    seconds: float


def send_signed(
    events_url: str, signing_secret: str, form: dict[str, str] | str, timestamp: int | None = None
) -> Delivery:
    """POST a form (or, given a str, an Events API JSON body) to the bot's /slack/events the way
    Slack does: signed with the signing secret."""
    body = form if isinstance(form, str) else urlencode(form)
    content_type = "application/json" if isinstance(form, str) else "application/x-www-form-urlencoded"
    if timestamp is None:
        timestamp = int(time.time())
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    request = urllib.request.Request(
        events_url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or "",
        },
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, text = exc.code, exc.read().decode(errors="replace")
    return Delivery(status, text, time.monotonic() - started)


def slash_command_form(
    command: str, text: str, response_url: str, user_id: str = "U0DEMO", channel_id: str = "C0DEMO"
) -> dict[str, str]:
    """The form Slack posts for a slash command."""
    return {
        "token": "unused-verification-token",
        "team_id": "T0STANDIN",
        "team_domain": "standin",
        "channel_id": channel_id,
        "channel_name": "demo",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "response_url": response_url,
        "trigger_id": secrets.token_hex(8),
    }


def button_press_form(
    action_id: str, value: str, response_url: str, user_id: str = "U0DEMO", channel_id: str = "C0DEMO"
) -> dict[str, str]:
    """The form Slack posts when a user presses a Block Kit button."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0STANDIN"},
        "api_app_id": APP_ID,
        "channel": {"id": channel_id, "name": "demo"},
        "container": {"type": "message", "channel_id": channel_id, "is_ephemeral": False},
        "trigger_id": secrets.token_hex(8),
        "response_url": response_url,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1"}],
    }
    return {"payload": json.dumps(payload)}


def event_body(event: dict[str, Any]) -> str:
    """The JSON Slack posts for an Events API event (app_home_opened, app_mention)."""
    callback = {
        "token": "unused-verification-token",
        "team_id": "T0STANDIN",
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": "Ev" + secrets.token_hex(6).upper(),
        "event_time": int(time.time()),
    }
    return json.dumps(callback)


def home_opened(user_id: str = "U0DEMO") -> str:
    return event_body({"type": "app_home_opened", "user": user_id, "channel": "D0HOME", "tab": "home"})


def mentioned(text: str, ts: str, user_id: str = "U0DEMO", channel_id: str = "C0DEMO") -> str:
    return event_body({"type": "app_mention", "user": user_id, "text": text, "ts": ts, "channel": channel_id})


def home_button_form(action_id: str, value: str, user_id: str = "U0DEMO") -> dict[str, str]:
    """The form Slack posts when a user presses a button on the bot's Home tab: a view, no channel, no response_url."""
    payload = {
        "type": "block_actions",
        "team": {"id": "T0STANDIN", "domain": "standin"},
        "user": {"id": user_id, "username": user_id.lower(), "team_id": "T0STANDIN"},
        "api_app_id": APP_ID,
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "trigger_id": secrets.token_hex(8),
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value, "action_ts": "1"}],
    }
    return {"payload": json.dumps(payload)}
