"""A Slack Web API stand-in served over real HTTP on loopback.

What moto is for AWS: `opsbot demo`, the tests and the benchmarks point a real
`slack_sdk.WebClient` (and slash-command response_urls) at it, then read back
what a Slack user would see with `messages()` and what was sent with `calls`.

It speaks Socket Mode too: `apps.connections.open` hands out a ws:// URL on the same
server (the envelopes and acks are in `slack_socket_mode`, the WebSocket itself in `slack_socket`),
`send_slash_command_over_socket()` delivers an envelope to the connected app and `wait_for_ack()`
returns the app's ack. The Web API methods and what they change are in `slack_web_api`; what Slack
sends the bot (signed slash commands, button presses) is in `slack_requests`.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import logging
import math
import secrets
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from bot.local.slack_http import HANG_UP, Answer, Params, RecordedCall, json_answer, parse_params, text_answer
from bot.local.slack_requests import slash_command_form
from bot.local.slack_socket import SocketLink
from bot.local.slack_socket_mode import SocketMode
from bot.local.slack_web_api import ApiError, Workspace

logger = logging.getLogger(__name__)


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
        # One condition guards all state, so a call seen by wait_for() has already changed messages().
        self._changed = threading.Condition()
        self._workspace = Workspace(lambda: self.base_url)
        self.uploads: dict[str, dict[str, Any]] = self._workspace.uploads
        self.usergroups: dict[str, list[str]] = self._workspace.usergroups  # answered by usergroups.users.list
        self._socket_mode = SocketMode(self._changed, self.calls)
        self._failures: defaultdict[str, list[tuple[int, int, str]]] = defaultdict(list)  # (status, retry_after, error)
        self._outages: dict[str, tuple[float, int]] = {}  # method -> (until, monotonic; status, 0: hang up)
        self._server: ThreadingHTTPServer | None = None
        self._methods: dict[str, Callable[[Params], Params]] = {
            "apps.connections.open": lambda _: self._socket_mode.open_connection(f"{self.host}:{self.port}"),
            **self._workspace.methods,
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
            self._socket_mode.close_all()
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
            self._workspace.response_urls[response_id] = {"channel": channel, "last_ts": None}
        return f"{self.base_url}/response/{response_id}"

    def replies_to(self, response_url: str, count: int = 1, timeout: float = 10.0) -> list[Params]:
        """The payloads the bot delivered to one response_url (injected failures excluded)."""
        origin = self._workspace.response_urls[response_url.rsplit("/", 1)[-1]]
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

    def fail_next(self, method: str, status: int = 429, times: int = 1, retry_after: int = 1, error: str = "") -> None:
        """Answer the next `times` calls to `method` with `status`; with status 200, `ok: false` and
        `error` (e.g. not_in_channel), as Slack refuses what no retry will change."""
        with self._changed:
            self._failures[method].extend([(status, retry_after, error)] * times)

    def refuse_blocks(self, *types: str) -> None:
        """From now on, answer invalid_blocks to a message holding a block of one of these types
        (data_table, data_visualization), as a workspace without them does."""
        with self._changed:
            self._workspace.refused_blocks |= set(types)

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
            return copy.deepcopy(self._workspace.channels.get(channel, []))

    def home_of(self, user: str) -> dict[str, Any] | None:
        """The Home tab view last published for `user`, if any."""
        with self._changed:
            return copy.deepcopy(self._workspace.homes.get(user))

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
        return self._socket_mode.send_envelope(
            "slash_commands", slash_command_form(command, text, url, user_id, channel_id)
        )

    def wait_for_socket_client(self, count: int = 1, timeout: float = 10.0) -> None:
        """Until `count` Socket Mode clients are connected (an app connects after apps.connections.open)."""
        self._socket_mode.wait_for_client(count, timeout)

    def wait_for_ack(self, envelope_id: str, timeout: float = 10.0) -> tuple[dict[str, Any], float]:
        """The app's ack for one envelope ({"envelope_id", "payload"?}) and the seconds it took to arrive."""
        return self._socket_mode.wait_for_ack(envelope_id, timeout)

    def _handle_post(self, path: str, body: bytes, headers: dict[str, str]) -> Answer:
        url = urlsplit(path)
        kind, _, key = url.path.strip("/").partition("/")
        if not key or kind not in ("api", "upload", "response"):
            return text_answer(404, "not_found")
        if kind == "upload":  # the raw file bytes, whatever Content-Type urllib claims
            return self._answer(
                "upload", {"file_id": key, "length": len(body)}, headers, lambda: self._workspace.upload(key, body)
            )
        try:
            params = parse_params(url.query, body, headers)
        except ValueError:
            return json_answer(200, {"ok": False, "error": "invalid_json"})
        if kind == "api":
            return self._answer(key, params, headers, lambda: self._web_api(key, params, headers))
        recorded = {**params, "response_url_id": key}
        return self._answer("response_url", recorded, headers, lambda: self._workspace.respond(key, params))

    def _answer(self, method: str, params: Params, headers: dict[str, str], handle: Callable[[], Answer]) -> Answer:
        with self._changed:
            self.calls.append(RecordedCall(method, params, headers, time.monotonic()))
            pending = self._failures.get(method)
            until, status = self._outages.get(method, (0.0, 0))
            if pending:
                answer = self._injected(method, *pending.pop(0))
            elif time.monotonic() < until:
                answer = self._injected(method, status, 1, "")
            else:
                answer = handle()
            self._changed.notify_all()
            return answer

    @staticmethod
    def _injected(method: str, status: int, retry_after: int, error: str = "") -> Answer:
        if status == 0:
            return HANG_UP
        error = error or ("ratelimited" if status == 429 else "internal_error")
        headers = {"Retry-After": str(retry_after)} if status == 429 else {}
        if method in ("response_url", "upload"):  # Slack answers these with plain text, not JSON
            return text_answer(status, error, headers)
        return json_answer(status, {"ok": False, "error": error}, headers)

    def _web_api(self, method: str, params: Params, headers: dict[str, str]) -> Answer:
        authorization = headers.get("authorization", "")
        token = authorization.removeprefix("Bearer ") if authorization.startswith("Bearer ") else None
        wanted = self.app_token if method == "apps.connections.open" else self.bot_token
        if token != wanted:
            # Slack tells a real token of the wrong kind (xoxb- for xapp-, or back) from a bad one.
            known = token in (self.bot_token, self.app_token)
            return json_answer(200, {"ok": False, "error": "not_allowed_token_type" if known else "invalid_auth"})
        try:
            endpoint = self._methods.get(method)
            if endpoint is None:
                raise ApiError("unknown_method")
            return json_answer(200, {"ok": True, **endpoint(params)})
        except ApiError as error:
            return json_answer(200, {"ok": False, "error": str(error)})


class _Handler(BaseHTTPRequestHandler):
    def __init__(self, standin: SlackStandIn, *args: Any) -> None:
        self.standin = standin  # set first: the base class serves the request inside __init__
        super().__init__(*args)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/link/":
            headers = self._headers()
            refusal = self.standin._socket_mode.refusal(url.query, headers)
            if refusal is not None:
                self._send(refusal)
                return
            self.close_connection = True  # the connection is the WebSocket's now: no HTTP request follows
            self.standin._socket_mode.serve(SocketLink(self.connection, self.rfile), headers["sec-websocket-key"])
            return
        self._send(text_answer(200, "ok") if url.path == "/healthz" else text_answer(404, "not_found"))

    def do_POST(self) -> None:
        # slack_sdk and urllib always send Content-Length, so chunked bodies are not supported.
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._send(self.standin._handle_post(self.path, body, self._headers()))

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _send(self, answer: Answer) -> None:
        if answer is HANG_UP:
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
