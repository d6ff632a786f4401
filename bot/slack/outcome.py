"""What one attempt to reach Slack came to, and a message fitted to Slack's limits before it goes.

One retry policy for every way out: network errors, 429 (after its Retry-After) and 5xx are worth
another attempt; any other refusal is final.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError

from slack_sdk.errors import SlackApiError

from bot.reply import Block
from bot.slack.blocks import MAX_BLOCKS, context, fit_blocks
from bot.text import Mrkdwn

MAX_TEXT = 39_000  # chat.postMessage truncates at 40,000 characters


@dataclass(frozen=True)
class Outcome:
    sent: bool
    retry: bool = False
    retry_after: float | None = None
    reason: str = ""


SENT = Outcome(sent=True)


def _retry_after(headers: Mapping[str, Any] | None) -> float | None:
    value = next((v for k, v in (headers or {}).items() if k.lower() == "retry-after"), None)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(0.0, float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def outcome_of(status: int, headers: Mapping[str, Any] | None, reason: str) -> Outcome:
    if status < 300:
        return SENT
    if status == 429:
        return Outcome(False, True, _retry_after(headers), reason)
    return Outcome(False, status >= 500, None, reason)


def outcome_of_error(exc: Exception) -> Outcome:
    if isinstance(exc, SlackApiError):
        status = exc.response.status_code
        error = exc.response.get("error")
        if status < 300:  # "ok": false in a 200 (channel_not_found, no_text): Slack's final word
            return Outcome(False, False, None, str(error))
        return outcome_of(status, exc.response.headers, f"{status} {error}")
    if isinstance(exc, HTTPError):  # files_upload_v2's upload URL
        return outcome_of(exc.code, dict(exc.headers or {}), f"{exc.code} {exc.reason}")
    return Outcome(False, True, None, f"{type(exc).__name__}: {exc}")  # the network, or Slack's side of it


PRIVATE_KEYS = frozenset({"merge", "merge_part", "replace_key", "thread_key", "fallback_blocks"})


def fitted(body: Mapping[str, Any], note: str = "") -> dict[str, Any]:
    """The message within Slack's limits, with the late note if there is one: the one place that fits."""
    # What the outbox keeps for itself (a merge's lines, the keys of threads and edits) is not Slack's.
    message = {k: v for k, v in body.items() if k not in PRIVATE_KEYS}
    message["text"] = str(message.get("text") or "")[:MAX_TEXT]
    # The blocks were a Reply's, escaped when it was made; the outbox kept them as JSON.
    blocks = fit_blocks([Block(b) for b in message.pop("blocks", None) or []])
    if note and blocks:
        blocks = [*blocks[: MAX_BLOCKS - 1], context(Mrkdwn("_{}_").format(note))]
    elif note:
        message["text"] = Mrkdwn(message["text"]) + Mrkdwn("\n_{}_").format(note)
    if blocks:
        message["blocks"] = blocks
    return message
