"""AWS Lambda entry points.

`slack_handler` serves the same Bolt app as `opsbot serve` behind API Gateway (REST or HTTP API)
or a Function URL: Slack's `POST /slack/events` (acks within the request, the work re-invokes
this function asynchronously through Bolt's lazy listeners) and the commands' authenticated
routes. The app is built once per cold start.

`capacity_handler` is the scheduled Lambda code-storage monitor (EventBridge), see
deploy/capacity-monitor.yaml.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from bot.app import Runtime, build_app
from bot.capacity_monitor import capacity_handler
from bot.http import route_request
from bot.settings import load_settings

__all__ = ["capacity_handler", "slack_handler"]


@cache
def _runtime() -> Runtime:
    return Runtime.from_settings(load_settings())


@cache
def _slack() -> SlackRequestHandler:
    runtime = _runtime()
    runtime.settings.require_slack(socket_mode=False)
    handler = SlackRequestHandler(build_app(runtime, wait_for_delivery=True))
    # Reuse the shared, already-built lambda client for lazy re-invocations.
    handler.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
        handler.logger, lambda_client=runtime.aws.client("lambda")
    )
    return handler


def _method_and_path(event: dict[str, Any]) -> tuple[str, str]:
    request_context = event.get("requestContext") or {}
    method = (request_context.get("http") or {}).get("method") or request_context.get("httpMethod") or ""
    path = event.get("rawPath") or event.get("path") or "/"
    stage = request_context.get("stage")
    # REST APIs include the stage in `path` only for custom domains; strip it if present.
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return method.upper(), path


def _header(event: dict[str, Any], name: str) -> str | None:
    for key, value in (event.get("headers") or {}).items():
        if key.lower() == name:
            return str(value)
    return None


def slack_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method, path = _method_and_path(event)
    if path.endswith("/slack/events") or _header(event, "x-slack-bolt-lazy-only"):
        result: dict[str, Any] = _slack().handle(event, context)
        return result
    if path.endswith("/healthz"):
        return {"statusCode": 200, "headers": {"Content-Type": "text/plain"}, "body": "ok\n"}
    from commands import COMMANDS

    response = route_request(_runtime(), COMMANDS, method, path, _header(event, "authorization"))
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": response.content_type},
        "body": response.body,
        "isBase64Encoded": False,
    }
