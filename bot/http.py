"""The bot's HTTP surface, one WSGI app: Slack's `POST /slack/events`, `GET /healthz`, and the
authenticated routes commands offer (e.g. `GET /eb/<env>/ip`). Served by waitress, a
multi-threaded production WSGI server; AWS Lambda reuses `route_request` for API Gateway.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.aws import describe_aws_error, is_aws_error
from bot.command import CommandError, HttpRequest, HttpResponse, SlashCommand, UsageError
from bot.runtime import Runtime
from bot.tokens import token_owner

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


def route_request(
    runtime: Runtime, commands: Sequence[SlashCommand], method: str, path: str, authorization: str | None
) -> HttpResponse:
    """Answer one request to a command route; every failure is a non-2xx with a one-line reason."""
    for command in commands:
        for route in command.routes:
            match = route.pattern.fullmatch(path)
            if not match:
                continue
            if method != route.method:
                return HttpResponse(405, f"use {route.method}\n")
            user_id = token_owner(runtime.store, authorization)
            if user_id is None:
                return HttpResponse(401, f"missing or revoked token; get one with `{command.name} token`\n")
            response = _answer(route.handler, match, HttpRequest(method, path, user_id), runtime)
            runtime.store.audit(user_id, "http", method=method, path=path, status=response.status)
            return response
    return HttpResponse(404, "no such route\n")


def _answer(handler: Any, match: Any, request: HttpRequest, runtime: Runtime) -> HttpResponse:
    ctx = runtime.context(request.user_id, "http")
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


class OpsbotWsgi:
    def __init__(self, runtime: Runtime, app: App, commands: Sequence[SlashCommand]) -> None:
        self.runtime = runtime
        self.slack = SlackRequestHandler(app)
        self.commands = commands

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            return self.slack(environ, start_response)
        if path == "/healthz":
            response = HttpResponse(200, "ok\n")
        else:
            response = route_request(self.runtime, self.commands, method, path, environ.get("HTTP_AUTHORIZATION"))
        body = response.body.encode()
        reason = _REASONS.get(response.status, "Unknown")
        start_response(
            f"{response.status} {reason}",
            [("Content-Type", response.content_type), ("Content-Length", str(len(body)))],
        )
        return [body]


def serve_http(wsgi: OpsbotWsgi, host: str, port: int, threads: int) -> None:
    import waitress

    waitress.serve(wsgi, host=host, port=port, threads=threads, ident="opsbot")
