"""AWS Lambda entry points.

`slack_handler` serves the same Bolt app as `opsbot serve` behind API Gateway (REST or HTTP API)
or a Function URL: Slack's `POST /slack/events` (acks within the request, the work re-invokes
this function asynchronously through Bolt's lazy listeners) and the commands' authenticated
routes. The app is built once per cold start.

`capacity_handler` runs the code-storage monitor (bot.capacity_monitor) on a schedule
(EventBridge), configured by environment variables rather than a settings file; see
deploy/capacity-monitor.yaml.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from functools import cache
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from bot.app import Runtime, build_app
from bot.aws import AwsClients
from bot.capacity_monitor import COMMAND as CAPACITY_COMMAND
from bot.capacity_monitor import run_capacity_check, slack_poster
from bot.delivery import make_web_client
from bot.http import route_request
from bot.settings import Settings, SettingsError, load_settings
from bot.state import Store

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


# -- the scheduled code-storage monitor

_ENV_OPTIONS = {  # the scheduled Lambda is configured by its template, not a TOML file
    "OPSBOT_CAPACITY_THRESHOLD_PERCENT": ("alarm_threshold_percent", float),
    "OPSBOT_CAPACITY_THRESHOLD_BYTES": ("alarm_threshold_bytes", int),
    "OPSBOT_CAPACITY_ALERT_CHANNEL": ("alert_channel", str),
    "OPSBOT_CAPACITY_SNS_TOPIC_ARN": ("sns_topic_arn", str),
    "OPSBOT_CAPACITY_REGIONS": ("monitor_regions", str),
}
_lambda_aws: AwsClients | None = None  # reused by warm invocations: clients are expensive


def settings_from_env(env: Mapping[str, str], aws: AwsClients) -> Settings:
    """Settings plus the monitor's options from environment variables and the token from SSM."""
    settings = load_settings(env)
    options = dict(settings.options_for(CAPACITY_COMMAND))
    for var, (key, kind) in _ENV_OPTIONS.items():
        if env.get(var):
            try:
                options[key] = kind(env[var])
            except ValueError:
                raise SettingsError(f"{var}: expected a {kind.__name__}, got {env[var]!r}") from None
    token = settings.slack_bot_token
    parameter = env.get("OPSBOT_SLACK_TOKEN_PARAMETER")
    if not token and parameter:
        token = aws.client("ssm").get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    return dataclasses.replace(
        settings,
        slack_bot_token=token,
        command_options={**settings.command_options, CAPACITY_COMMAND.lstrip("/"): options},
    )


def capacity_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled Lambda's entry point (EventBridge): one monitor run, a summary for the logs."""
    global _lambda_aws
    aws = _lambda_aws = _lambda_aws or AwsClients()
    settings = settings_from_env(os.environ, aws)
    store = Store.open(settings.state_url)
    post = slack_poster(make_web_client(settings)) if settings.slack_bot_token else None
    checks = run_capacity_check(aws, store, settings, post, regions=(event or {}).get("regions"))
    return {
        "regions": [
            {
                "region": c.region,
                "usage_bytes": c.reading.usage_bytes if c.reading else None,
                "percent": c.reading.percent if c.reading else None,
                "transition": c.transition,
                "alerted": c.alerted,
                "error": c.error,
            }
            for c in checks
        ]
    }
