"""The bot's HTTP surface, one WSGI app: Slack's `POST /slack/events`, `GET /healthz`, and the
authenticated routes commands offer (e.g. `GET /eb/<env>/ip`). Served by waitress, a
multi-threaded production WSGI server; AWS Lambda reuses `route_request` for API Gateway.

Slack must be acked within 3 s, however busy the routes are: waitress's threads are shared by
every request, so the routes may hold at most half of them at once (a 503 past that, answered
at once), and each token gets a rate limit (a 429 past it).
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.accounts import AccountRefused
from bot.aws import describe_aws_error, is_aws_error
from bot.command import CommandError, HttpRequest, HttpResponse, SlashCommand, UsageError, enter_account, policy_refusal
from bot.http_limits import TokenBuckets
from bot.policy import Action, Members
from bot.runtime import Runtime
from bot.slack.gate import MAX_BODY, SlackGate, refusal
from bot.slack.usergroups import members_via
from bot.tokens import bearer_token, token_hash

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
MAX_HEADERS = 16 * 1024  # Slack's headers and a bearer token fit many times over

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def route_request(
    runtime: Runtime,
    commands: Sequence[SlashCommand],
    method: str,
    path: str,
    authorization: str | None,
    limits: TokenBuckets | None = None,
    members: Members | None = None,
) -> HttpResponse:
    """Answer one request to a command route; every failure is a non-2xx with a one-line reason."""
    for command in commands:
        for route in command.routes:
            match = route.pattern.fullmatch(path)
            if not match:
                continue
            if method != route.method:
                return HttpResponse(405, f"use {route.method}\n", headers=(("Allow", route.method),))
            token = bearer_token(authorization)
            user_id = runtime.store.token_owner(token_hash(token)) if token else None
            if token is None or user_id is None:
                return HttpResponse(401, f"missing or revoked token; get one with `{command.name} token`\n")
            wait = limits.take(token_hash(token)) if limits else 0
            if wait:
                return HttpResponse(429, "too many requests for this token\n", headers=(("Retry-After", str(wait)),))
            request = HttpRequest(method, path, user_id)
            response = _answer(route.handler, match, request, runtime, command, members)
            runtime.store.audit(user_id, "http", method=method, path=path, status=response.status)
            return response
    return HttpResponse(404, "no such route\n")


def _answer(
    handler: Any, match: Any, request: HttpRequest, runtime: Runtime, command: SlashCommand, members: Members | None
) -> HttpResponse:
    ctx = runtime.context(request.user_id, "http", **({"members": members} if members else {}))
    try:
        # Routes act in the account every other channel uses ([channels."*"]), as the token's owner.
        ctx = enter_account(command, "", ctx)[1]
    except AccountRefused as exc:
        return HttpResponse(403, f"{exc}\n")
    except Exception as exc:
        return HttpResponse(502, (describe_aws_error(exc) if is_aws_error(exc) else "internal error") + "\n")
    refused = policy_refusal([Action(command.name)], ctx)  # a route is the command's own lookup
    if refused is not None:
        return HttpResponse(403, refused.text + "\n")
    try:
        response: HttpResponse = handler(match, request, ctx)
        return response
    except UsageError as exc:
        return HttpResponse(400, f"{exc}\n")
    except CommandError as exc:
        return HttpResponse(404, f"{exc}\n")
    except Exception as exc:
        if is_aws_error(exc):
            return HttpResponse(502, describe_aws_error(exc) + "\n")
        log.exception("route %s failed", request.path)
        return HttpResponse(500, "internal error; see the bot's log\n")


def route_slots(http_threads: int) -> int:
    """Half the server's threads: the other half always remains for Slack and /healthz."""
    return max(1, http_threads // 2)


class OpsbotWsgi:
    def __init__(self, runtime: Runtime, app: App, commands: Sequence[SlashCommand]) -> None:
        settings = runtime.settings
        if not settings.slack_signing_secret:
            raise ValueError("SLACK_SIGNING_SECRET is needed to serve Slack over HTTP")
        self.runtime = runtime
        self.slack = SlackRequestHandler(app)
        self.gate = SlackGate(settings.slack_signing_secret)
        self.commands = commands
        self.limits = TokenBuckets(settings.route_rate, settings.route_burst)
        self._slots = threading.BoundedSemaphore(route_slots(settings.http_threads))

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            refused = self._check_slack(environ, method)
            if refused is None:
                return self.slack(environ, start_response)
            return _send(refused, start_response)
        if path == "/healthz":
            return _send(HttpResponse(200, "ok\n"), start_response)
        if not self._slots.acquire(blocking=False):
            return _send(HttpResponse(503, "busy; try again\n", headers=(("Retry-After", "1"),)), start_response)
        try:
            authorization = environ.get("HTTP_AUTHORIZATION")
            members = members_via(self.slack.app.client)
            response = route_request(self.runtime, self.commands, method, path, authorization, self.limits, members)
        finally:
            self._slots.release()
        return _send(response, start_response)

    def _check_slack(self, environ: dict[str, Any], method: str) -> HttpResponse | None:
        if method != "POST":
            return HttpResponse(405, "use POST\n", headers=(("Allow", "POST"),))
        raw_length = environ.get("CONTENT_LENGTH") or ""
        if raw_length and not raw_length.isdigit():
            return refusal(400, "Content-Length is not a number")
        if raw_length and int(raw_length) > MAX_BODY:
            return refusal(413, f"body over {MAX_BODY // 1024} KiB")  # decided before this reads any of it
        # Without a length (chunked), read one byte past the limit to know it was passed.
        body = environ["wsgi.input"].read(int(raw_length) if raw_length else MAX_BODY + 1)
        refused = self.gate.check(_headers(environ), body)
        if refused is None:  # Bolt's adapter reads the body again
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return refused


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    return headers


def _send(response: HttpResponse, start_response: StartResponse) -> Iterable[bytes]:
    body = response.body.encode()
    reason = _REASONS.get(response.status, "Unknown")
    start_response(
        f"{response.status} {reason}",
        [("Content-Type", response.content_type), ("Content-Length", str(len(body))), *response.headers],
    )
    return [body]


def make_server(wsgi: OpsbotWsgi, host: str, port: int) -> Any:
    """waitress with the bot's limits. Past 4 x MAX_BODY waitress itself refuses a body from its
    Content-Length (or, chunked, as it arrives) before reading it; below that it buffers the body
    (to a file past 512 KB) and the app refuses past MAX_BODY with its own one-line 413."""
    import waitress

    return waitress.create_server(
        wsgi,
        host=host,
        port=port,
        threads=wsgi.runtime.settings.http_threads,
        ident="opsbot",
        max_request_body_size=4 * MAX_BODY,
        max_request_header_size=MAX_HEADERS,
    )


def serve_http(wsgi: OpsbotWsgi, host: str, port: int) -> None:
    make_server(wsgi, host, port).run()
