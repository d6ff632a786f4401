"""What the Slack stand-in's HTTP server deals in: parsed params, the record of a call, the answer.

The modules of the stand-in (`slack_standin`, `slack_web_api`, `slack_socket_mode`) share these.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

Params = dict[str, Any]


@dataclass(frozen=True)
class RecordedCall:
    method: str  # "chat.postMessage", or "response_url", "upload", "socket_ack" (params: the app's ack)
    params: dict[str, Any]
    headers: dict[str, str]  # names lower-cased: clients differ (urllib sends "Content-type")
    at: float  # time.monotonic() when received


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


HANG_UP = Answer(0, b"", "", {})  # close the connection unanswered


def json_answer(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers or {})


def text_answer(status: int, text: str, headers: dict[str, str] | None = None) -> Answer:
    return Answer(status, text.encode(), "text/plain; charset=utf-8", headers or {})


def _decoded(value: str) -> Any:
    # slack_sdk form-encodes "blocks" and "files" as JSON strings; tests want the objects.
    if value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def parse_params(query: str, body: bytes, headers: dict[str, str]) -> Params:
    params: Params = {key: _decoded(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    if headers.get("content-type", "").startswith("application/json"):
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("JSON body is not an object")
        return {**params, **payload}
    form = parse_qsl(body.decode(), keep_blank_values=True)
    return {**params, **{key: _decoded(value) for key, value in form}}
