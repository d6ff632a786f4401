"""A Slack Web API stand-in served over real HTTP on loopback.

What moto is for AWS: `opsbot demo`, the tests and the benchmarks point a real
`slack_sdk.WebClient` (and slash-command response_urls) at it, then read back
what a Slack user would see with `messages()` and what was sent with `calls`.

It speaks Socket Mode too: `apps.connections.open` hands out a ws:// URL on the same
server (the WebSocket itself is in `slack_standin_socket`), `send_slash_command_over_socket()`
delivers an envelope to the connected app and `wait_for_ack()` returns the app's ack.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import logging
import math
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bot.local.slack_socket import CLOSE_GOING_AWAY, SocketLink, upgrade_refusal

logger = logging.getLogger(__name__)

BOT_USER_ID = "U0OPSBOT"
BOT_ID = "B0OPSBOT"
APP_ID = "A0OPSBOT"
AUTH_TEST = {
    "url": "https://standin.slack.test/",
    "team": "Stand-in",
    "user": "opsbot",
    "team_id": "T0STANDIN",
    "user_id": BOT_USER_ID,
    "bot_id": BOT_ID,
}

Params = dict[str, Any]


@dataclass(frozen=True)
class RecordedCall:
    method: str  # "chat.postMessage", or "response_url", "upload", "socket_ack" (params: the app's ack)
    params: dict[str, Any]
    headers: dict[str, str]  # names lower-cased: clients differ (urllib sends "Content-type")
    at: float  # time.monotonic() when received


@dataclass(frozen=True)
class _Answer:
    status: int
    body: bytes
    content_type: str
    headers: dict[str, str]


_HANG_UP = _Answer(0, b"", "", {})  # close the connection unanswered


class _ApiError(Exception):
    """A Slack error code: Slack answers these with HTTP 200 and ok=false."""


def _json(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, json.dumps(payload).encode(), "application/json; charset=utf-8", headers or {})


def _text(status: int, text: str, headers: dict[str, str] | None = None) -> _Answer:
    return _Answer(status, text.encode(), "text/plain; charset=utf-8", headers or {})


def _decoded(value: str) -> Any:
    # slack_sdk form-encodes "blocks" and "files" as JSON strings; tests want the objects.
    if value[:1] in ("[", "{"):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value


def _parse(query: str, body: bytes, headers: dict[str, str]) -> Params:
    params: Params = {key: _decoded(value) for key, value in parse_qsl(query, keep_blank_values=True)}
    if headers.get("content-type", "").startswith("application/json"):
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("JSON body is not an object")
        return {**params, **payload}
    form = parse_qsl(body.decode(), keep_blank_values=True)
    return {**params, **{key: _decoded(value) for key, value in form}}


def _content(params: Params) -> Params:
    return {key: params[key] for key in ("text", "blocks", "attachments") if key in params}


def _channel(channel_id: str) -> Params:
    return {"id": channel_id, "name": "demo", "is_channel": True, "is_member": True}


def _required(params: Params, name: str, error: str) -> str:
    value = params.get(name)
    if not value:
        raise _ApiError(error)
    return str(value)


class SlackStandIn:
    """Answers like Slack's Web API, remembers every call and the messages it produced."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, bot_token: str = "xoxb-standin", app_token: str = "xapp-standin"
    ) -> None:
        self.host = host
        self.port = port
        self.bot_token = bot_token
        self.app_token = app_token  # the app-level token: Socket Mode's apps.connections.open wants it
        self.calls: list[RecordedCall] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        # One condition guards all state, so a call seen by wait_for() has already changed messages().
        self._changed = threading.Condition()
        self._channels: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self._response_urls: dict[str, dict[str, Any]] = {}
        self._failures: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)  # (status, retry_after)
        self._outages: dict[str, tuple[float, int]] = {}  # method -> (until, monotonic; status, 0: hang up)
        self._ts_base = int(time.time())
        self._ts_count = 0
        self._tickets: set[str] = set()  # from apps.connections.open; each opens /link/ as often as needed
        self._links: list[SocketLink] = []  # connected Socket Mode clients, the newest last
        self._envelopes_sent: dict[str, float] = {}  # envelope_id -> time.monotonic() when sent
        self._server: ThreadingHTTPServer | None = None
        self._methods: dict[str, Callable[[Params], Params]] = {
            "apps.connections.open": self._open_connection,
            "auth.test": lambda _: AUTH_TEST,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "files.getUploadURLExternal": self._get_upload_url,
            "files.completeUploadExternal": self._complete_upload,
            "conversations.info": self._conversation,
            "conversations.join": self._conversation,
            "conversations.list": lambda _: {
                "channels": [_channel("C0DEMO")],
                "response_metadata": {"next_cursor": ""},
            },
            "users.info": self._user,
        }

    def start(self) -> SlackStandIn:
        if self._server is not None:
            raise RuntimeError("the Slack stand-in is already running")
        self._server = ThreadingHTTPServer((self.host, self.port), partial(_Handler, self))
        self.port = self._server.server_port
        # serve_forever() notices shutdown() only between polls; the default 0.5 s makes every stop() that slow.
        serve = partial(self._server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, name="slack-standin", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            with self._changed:
                links = list(self._links)
            for link in links:  # their threads outlive shutdown(): end them, like Slack does, with a close frame
                link.close(CLOSE_GOING_AWAY, "the Slack stand-in stopped")
            for link in links:
                link.finished.wait(timeout=5)
            self._server.server_close()
            self._server = None

    def __enter__(self) -> SlackStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self.port == 0:
            raise RuntimeError("start() the Slack stand-in first: its port is not chosen yet")
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def new_response_url(self, channel: str = "C0DEMO") -> str:
        response_id = secrets.token_hex(8)
        with self._changed:
            self._response_urls[response_id] = {"channel": channel, "last_ts": None}
        return f"{self.base_url}/response/{response_id}"

    def replies_to(self, response_url: str, count: int = 1, timeout: float = 10.0) -> list[Params]:
        """The payloads the bot delivered to one response_url (injected failures excluded)."""
        origin = self._response_urls[response_url.rsplit("/", 1)[-1]]
        with self._changed:
            if not self._changed.wait_for(lambda: len(origin.get("delivered", [])) >= count, timeout):
                raise TimeoutError(f"waited {timeout}s for {count} repl(ies) to {response_url}")
            return list(origin.get("delivered", []))

    def calls_to(self, method: str) -> list[RecordedCall]:
        with self._changed:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[RecordedCall]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.calls_to(method)) >= count, timeout):
                seen = Counter(call.method for call in self.calls)
                recorded = ", ".join(f"{name} x{n}" for name, n in seen.items()) or "nothing"
                raise TimeoutError(
                    f"waited {timeout}s for {count} call(s) to {method!r}, "
                    f"got {seen[method]}; the stand-in recorded: {recorded}"
                )
            return self.calls_to(method)

    def fail_next(self, method: str, status: int = 429, times: int = 1, retry_after: int = 1) -> None:
        with self._changed:
            self._failures[method].extend([(status, retry_after)] * times)

    def outage(self, *methods: str, seconds: float = math.inf, status: int = 503) -> None:
        """Fail every call to `methods` for `seconds` (or until heal()): answer `status`, or with
        status 0 close the connection without an answer, as a network failure would."""
        with self._changed:
            for method in methods:
                self._outages[method] = (time.monotonic() + seconds, status)

    def heal(self) -> None:
        with self._changed:
            self._outages.clear()

    def messages(self, channel: str) -> list[dict[str, Any]]:
        with self._changed:
            return copy.deepcopy(self._channels.get(channel, []))

    # -- Socket Mode: envelopes out to the newest connected app, its acks back ----------------

    def send_slash_command_over_socket(
        self,
        command: str,
        text: str,
        user_id: str = "U0DEMO",
        channel_id: str = "C0DEMO",
        response_url: str | None = None,
    ) -> str:
        """Deliver a slash command the way Socket Mode does; return the envelope_id the app must ack."""
        url = response_url or self.new_response_url(channel_id)
        return self._send_envelope("slash_commands", slash_command_form(command, text, url, user_id, channel_id))

    def wait_for_socket_client(self, count: int = 1, timeout: float = 10.0) -> None:
        """Until `count` Socket Mode clients are connected (an app connects after apps.connections.open)."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._links) >= count, timeout):
                raise TimeoutError(f"waited {timeout}s for {count} Socket Mode client(s), {len(self._links)} connected")

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> tuple[dict[str, Any], float]:
        """The app's ack for one envelope ({"envelope_id", "payload"?}) and the seconds it took to arrive."""

        def ack() -> RecordedCall | None:
            calls = (call for call in self.calls if call.method == "socket_ack")
            return next((call for call in calls if call.params.get("envelope_id") == envelope_id), None)

        with self._changed:
            sent_at = self._envelopes_sent.get(envelope_id)
            if sent_at is None:
                raise KeyError(f"the stand-in sent no envelope {envelope_id!r}")
            found = self._changed.wait_for(ack, timeout)
            if found is None:
                raise TimeoutError(f"waited {timeout}s for the app to ack envelope {envelope_id!r}")
            return copy.deepcopy(found.params), found.at - sent_at

    def _send_envelope(self, kind: str, payload: Params) -> str:
        envelope_id = str(uuid.uuid4())
        envelope = {"envelope_id": envelope_id, "type": kind, "payload": payload, "accepts_response_payload": True}
        with self._changed:
            if not self._links:
                raise ConnectionError("no Socket Mode client is connected to the Slack stand-in")
            link = self._links[-1]
            self._envelopes_sent[envelope_id] = time.monotonic()
        link.send_text(json.dumps(envelope))  # outside the lock: a slow socket must not stall the Web API
        return envelope_id

    def _open_connection(self, _: Params) -> Params:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        return {"url": f"ws://{self.host}:{self.port}/link/?ticket={ticket}"}

    def _socket_refusal(self, query: str, headers: dict[str, str]) -> _Answer | None:
        """Why GET /link/ may not become a WebSocket, as the HTTP answer; None if it may."""
        ticket = dict(parse_qsl(query)).get("ticket", "")
        with self._changed:
            if ticket not in self._tickets:
                return _text(403, "invalid_ticket")
        refusal = upgrade_refusal(headers)
        return _text(400, refusal) if refusal else None

    def _serve_socket(self, link: SocketLink, key: str) -> None:
        """On the connection's own server thread until the client leaves."""
        with self._changed:
            self._links.append(link)  # before the handshake: senders wait in link.send_text() for it
            self._changed.notify_all()
            hello = {
                "type": "hello",
                "num_connections": len(self._links),
                "debug_info": {"host": "standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        try:
            link.open(key, json.dumps(hello))
            link.receive(self._on_socket_message)
        finally:
            with self._changed:
                self._links.remove(link)
                self._changed.notify_all()

    def _on_socket_message(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or not message.get("envelope_id"):
            logger.warning("the Socket Mode client sent something other than an ack: %.200s", text)
            return
        with self._changed:
            self.calls.append(RecordedCall("socket_ack", message, {}, time.monotonic()))
            self._changed.notify_all()

    # -- routing: the HTTP handler calls these with the raw request ------------------------

    def _handle_post(self, path: str, body: bytes, headers: dict[str, str]) -> _Answer:
        url = urlsplit(path)
        kind, _, key = url.path.strip("/").partition("/")
        if not key or kind not in ("api", "upload", "response"):
            return _text(404, "not_found")
        if kind == "upload":  # the raw file bytes, whatever Content-Type urllib claims
            return self._answer(
                "upload", {"file_id": key, "length": len(body)}, headers, lambda: self._upload(key, body)
            )
        try:
            params = _parse(url.query, body, headers)
        except ValueError:
            return _json(200, {"ok": False, "error": "invalid_json"})
        if kind == "api":
            return self._answer(key, params, headers, lambda: self._web_api(key, params, headers))
        recorded = {**params, "response_url_id": key}
        return self._answer("response_url", recorded, headers, lambda: self._respond(key, params))

    def _answer(self, method: str, params: Params, headers: dict[str, str], handle: Callable[[], _Answer]) -> _Answer:
        with self._changed:
            self.calls.append(RecordedCall(method, params, headers, time.monotonic()))
            pending = self._failures.get(method)
            until, status = self._outages.get(method, (0.0, 0))
            if pending:
                answer = self._injected(method, *pending.pop(0))
            elif time.monotonic() < until:
                answer = self._injected(method, status, 1)
            else:
                answer = handle()
            self._changed.notify_all()
            return answer

    @staticmethod
    def _injected(method: str, status: int, retry_after: int) -> _Answer:
        if status == 0:
            return _HANG_UP
        error = "ratelimited" if status == 429 else "internal_error"
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        if method in ("response_url", "upload"):  # Slack answers these with plain text, not JSON
            return _text(status, error, headers)
        return _json(status, {"ok": False, "error": error}, headers)

    def _web_api(self, method: str, params: Params, headers: dict[str, str]) -> _Answer:
        authorization = headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != wanted:
            # Slack tells a real token of the wrong kind (xoxb- for xapp-, or back) from a bad one.
            known = token in (self.bot_token, self.app_token)
            return _json(200, {"ok": False, "error": "not_allowed_token_type" if known else "invalid_auth"})
        try:
            endpoint = self._methods.get(method)
            if endpoint is None:
                raise _ApiError("unknown_method")
            return _json(200, {"ok": True, **endpoint(params)})
        except _ApiError as error:
            return _json(200, {"ok": False, "error": str(error)})

    def _upload(self, file_id: str, body: bytes) -> _Answer:
        upload = self.uploads.get(file_id)
        if upload is None:
            return _text(404, "file_not_found")
        upload["content"] = body
        return _text(200, f"OK - {len(body)}")

    def _respond(self, response_id: str, payload: Params) -> _Answer:
        origin = self._response_urls.get(response_id)
        if origin is None:
            return _text(404, "no_response_url")
        origin.setdefault("delivered", []).append(payload)
        messages = self._channels[origin["channel"]]
        previous = next((m for m in messages if m["ts"] == origin["last_ts"]), None)
        if payload.get("delete_original") in (True, "true"):
            if previous is not None:
                messages.remove(previous)
        elif previous is not None and payload.get("replace_original") in (True, "true"):
            response_type = payload.get("response_type", previous["response_type"])
            messages[messages.index(previous)] = {
                "ts": previous["ts"],
                "response_type": response_type,
                **_content(payload),
            }
        else:
            # Slack's default for a response_url is ephemeral: only the caller sees it.
            message = {"ts": self._next_ts(), "response_type": payload.get("response_type", "ephemeral")}
            messages.append({**message, **_content(payload)})
            origin["last_ts"] = message["ts"]
        return _text(200, "ok")

    # -- Web API methods: take the parsed params, return the fields beside "ok": true ------

    def _next_ts(self) -> str:
        self._ts_count += 100
        return f"{self._ts_base + self._ts_count // 1_000_000}.{self._ts_count % 1_000_000:06d}"

    def _post(self, channel: str, message: Params, thread_ts: Any) -> Params:
        message = {"type": "message", "ts": self._next_ts(), "user": BOT_USER_ID, "bot_id": BOT_ID, **message}
        if thread_ts:
            message["thread_ts"] = str(thread_ts)
        self._channels[channel].append(message)
        return message

    def _post_message(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        if not any(_content(params).values()):
            raise _ApiError("no_text")
        message = self._post(channel, _content(params), params.get("thread_ts"))
        return {"channel": channel, "ts": message["ts"], "message": copy.deepcopy(message)}

    def _update(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        ts = _required(params, "ts", "message_not_found")
        message = next((m for m in self._channels.get(channel, []) if m["ts"] == ts), None)
        if message is None:
            raise _ApiError("message_not_found")
        message.update(_content(params))  # like Slack, fields left out keep their old value
        return {"channel": channel, "ts": ts, "text": message.get("text", "")}

    def _post_ephemeral(self, params: Params) -> Params:
        channel = _required(params, "channel", "channel_not_found")
        user = _required(params, "user", "user_not_found")
        if not any(_content(params).values()):
            raise _ApiError("no_text")
        message = {**_content(params), "response_type": "ephemeral", "ephemeral_to": user}
        return {"message_ts": self._post(channel, message, params.get("thread_ts"))["ts"]}

    def _get_upload_url(self, params: Params) -> Params:
        filename = _required(params, "filename", "invalid_arguments")
        if not str(params.get("length", "")).isdigit():
            raise _ApiError("invalid_arguments")
        file_id = "F" + secrets.token_hex(5).upper()
        self.uploads[file_id] = {"filename": filename, "length": int(params["length"]), "content": b"", "title": ""}
        return {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _complete_upload(self, params: Params) -> Params:
        files = params.get("files")
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) for f in files):
            raise _ApiError("invalid_arguments")
        if any(str(f.get("id")) not in self.uploads for f in files):
            raise _ApiError("file_not_found")
        channel = params.get("channel_id")
        shared = []
        for item in files:
            upload = self.uploads[str(item["id"])]
            upload["title"] = item.get("title") or upload["filename"]
            if channel:
                upload["channel"] = channel
            size = len(upload["content"])
            shared.append({"id": item["id"], "name": upload["filename"], "title": upload["title"], "size": size})
        if channel:
            message = {"text": params.get("initial_comment", ""), "files": copy.deepcopy(shared)}
            self._post(str(channel), message, params.get("thread_ts"))
        return {"files": shared}

    def _conversation(self, params: Params) -> Params:
        return {"channel": _channel(_required(params, "channel", "channel_not_found"))}

    def _user(self, params: Params) -> Params:
        user = _required(params, "user", "user_not_found")
        return {"user": {"id": user, "name": "demo", "real_name": "Demo User", "tz": "Europe/Berlin", "is_bot": False}}


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, standin: SlackStandIn, *args: Any) -> None:
        self.standin = standin  # set first: the base class serves the request inside __init__
        super().__init__(*args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/link/":
            headers = self._headers()
            refusal = self.standin._socket_refusal(url.query, headers)
            if refusal is not None:
                self._send(refusal)
                return
            self.close_connection = True  # the connection is the WebSocket's now: no HTTP request follows
            self.standin._serve_socket(SocketLink(self.connection, self.rfile), headers["sec-websocket-key"])
            return
        self._send(_text(200, "ok") if url.path == "/healthz" else _text(404, "not_found"))

    def do_POST(self) -> None:
        # slack_sdk and urllib always send Content-Length, so chunked bodies are not supported.
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(self.standin._handle_post(self.path, body, self._headers()))

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _send(self, answer: _Answer) -> None:
        if answer is _HANG_UP:
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        # The default writes every request to stderr, which drowns test and demo output.
        logger.debug("%s %s", self.address_string(), format % args)


@dataclass(frozen=True)
class Delivery:
    """What the bot answered to a request Slack signed and sent it."""

    status: int
    body: str
    seconds: float


def send_signed(events_url: str, signing_secret: str, form: dict[str, str], timestamp: int | None = None) -> Delivery:
    """POST a form to the bot's /slack/events the way Slack does: signed with the signing secret."""
    body = urlencode(form)
    if timestamp is None:
        timestamp = int(time.time())
    signature = SignatureVerifier(signing_secret).generate_signature(timestamp=str(timestamp), body=body)
    request = urllib.request.Request(
        events_url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve the Slack Web API stand-in until Ctrl-C.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3999)
    parser.add_argument("--bot-token", default="xoxb-standin")
    parser.add_argument("--app-token", default="xapp-standin", help="the app-level token for Socket Mode")
    args = parser.parse_args(argv)
    with SlackStandIn(args.host, args.port, args.bot_token, args.app_token) as standin:
        print(standin.api_url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
