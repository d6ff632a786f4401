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

__all__ = ["capacity_handler", "slack_handler"]


@cache
def _aws() -> AwsClients:
    return AwsClients()  # clients are expensive: one set per container, reused by warm invocations


@cache
def _runtime() -> Runtime:
    """Settings, clients and store, once per container (the environment does not change)."""
    return Runtime.from_settings(settings_from_env(os.environ, _aws()), _aws())


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
# Secrets stay out of the function's configuration: SSM SecureString parameters, read at start.
_SECRET_PARAMETERS = {
    "SLACK_BOT_TOKEN": "OPSBOT_SLACK_TOKEN_PARAMETER",
    "SLACK_SIGNING_SECRET": "OPSBOT_SLACK_SIGNING_SECRET_PARAMETER",
}


def settings_from_env(env: Mapping[str, str], aws: AwsClients) -> Settings:
    """Settings from the environment, Slack secrets from SSM, the monitor's options from variables."""
    resolved = dict(env)
    for variable, parameter in _SECRET_PARAMETERS.items():
        if not env.get(variable) and env.get(parameter):
            reply = aws.client("ssm").get_parameter(Name=env[parameter], WithDecryption=True)
            resolved[variable] = reply["Parameter"]["Value"]
    settings = load_settings(resolved)
    options = dict(settings.options_for(CAPACITY_COMMAND))
    for var, (key, kind) in _ENV_OPTIONS.items():
        if env.get(var):
            try:
                options[key] = kind(env[var])
            except ValueError:
                raise SettingsError(f"{var}: expected a {kind.__name__}, got {env[var]!r}") from None
    return dataclasses.replace(
        settings,
        command_options={**settings.command_options, CAPACITY_COMMAND.lstrip("/"): options},
    )


def capacity_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The scheduled Lambda's entry point (EventBridge): one monitor run, a summary for the logs."""
    runtime = _runtime()
    settings = runtime.settings
    post = slack_poster(make_web_client(settings)) if settings.slack_bot_token else None
    checks = run_capacity_check(runtime.aws, runtime.store, settings, post, regions=(event or {}).get("regions"))
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
