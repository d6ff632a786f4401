"""AWS Lambda entry points.

`slack_handler` serves the same Bolt app as `opsbot serve` behind API Gateway (REST or HTTP API)
or a Function URL: Slack's `POST /slack/events` (acks within the request, the work re-invokes
this function asynchronously through Bolt's lazy listeners) and the commands' authenticated
routes. The app is built once per cold start.

Every `LambdaEntry` a feature declares is exposed here under its name, for a template's
`Handler:` (e.g. `capacity_handler`, the scheduled code-storage monitor of
deploy/capacity-monitor.yaml). There is no settings file on Lambda: a feature's options come
from the variables it declares (`SlashCommand.env_options`), and the Slack secrets from SSM.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import logging
import os
import time
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from bot.aws import AWS_ERRORS, AwsClients, describe_aws_error
from bot.command import HttpResponse, LambdaEntry
from bot.runtime import DELIVERY_ROOM, WORK_DEADLINE, Runtime
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.delivery import SlackDelivery, make_web_client
from bot.slack.gate import MAX_BODY, SlackGate, refusal
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.slack.queue import DeliveryQueue
from commands import COMMANDS

if TYPE_CHECKING:
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler

    from bot.http_limits import TokenBuckets

log = logging.getLogger(__name__)

# Lambda's ApplicationLogLevel names (AWS_LAMBDA_LOG_LEVEL), as Python's levels.
_LOG_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}


def configure_logging(env: Mapping[str, str]) -> None:
    """On Lambda, let the bot's INFO lines through to CloudWatch. The runtime installs the handler (JSON
    with the templates' LoggingConfig) and sets the root level only for the JSON format: with the text
    format the root logger stays at WARNING and every INFO line is dropped. Elsewhere (a test, a local
    import) the caller's logging is left alone."""
    if not env.get("AWS_LAMBDA_FUNCTION_NAME"):
        return
    level = (env.get("AWS_LAMBDA_LOG_LEVEL") or "INFO").upper()
    logging.getLogger().setLevel(_LOG_LEVELS.get(level, logging.INFO))


configure_logging(os.environ)


@cache
def _aws() -> AwsClients:
    return AwsClients()  # clients are expensive: one set per container, reused by warm invocations


@cache
def _runtime() -> Runtime:
    """Settings, clients and store, once per container (the environment does not change)."""
    return Runtime.from_settings(settings_from_env(os.environ, _aws()), _aws())


@cache
def _delivery() -> SlackDelivery:
    return delivery_for(_runtime(), os.environ)


def delivery_for(runtime: Runtime, env: Mapping[str, str]) -> SlackDelivery:
    """With a delivery queue, records go to SQS and `delivery_handler` sends them; without one,
    they wait in the state store and go out in flush(): nothing runs once an invocation returns,
    and what one could not deliver stays queued for the next."""
    queue_url, dead_letter_url = queue_urls(env)
    if not queue_url:
        return SlackDelivery.configured(runtime.settings, runtime.store, background=False)
    # One sender per channel at a time, so no burst: a container that hands a channel on cannot
    # know what the next one will send.
    policy = DeliveryPolicy.from_env(env)
    pacer = ChannelPacer(workspace_per_minute=policy.workspace_per_minute, workspace_burst=int(policy.workspace_burst))
    queue = DeliveryQueue(runtime.aws.client("sqs"), queue_url, runtime.store, dead_letter_url)
    client = make_web_client(runtime.settings)
    return SlackDelivery(client, runtime.store, policy, pacer, background=False, queue=queue)


@cache
def _slack() -> SlackRequestHandler:
    # Imported here: only the Slack entry needs the Bolt app (a schedule or the log forwarder does not).
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler
    from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

    from bot.slack.app import build_app

    runtime = _runtime()
    runtime.settings.require_slack(socket_mode=False)
    handler = SlackRequestHandler(build_app(runtime, COMMANDS, _delivery(), wait_for_delivery=True))
    # Reuse the shared, already-built lambda client for lazy re-invocations.
    handler.app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
        handler.logger, lambda_client=runtime.aws.client("lambda")
    )
    return handler


@cache
def _gate() -> SlackGate:
    runtime = _runtime()
    runtime.settings.require_slack(socket_mode=False)
    return SlackGate(runtime.settings.slack_signing_secret or "")


@cache
def _limits() -> TokenBuckets:
    from bot.http_limits import TokenBuckets  # the routes' (not Slack's) path

    # Per container: Lambda runs one request at a time in it, so this slows a token, not the bot.
    return TokenBuckets(_runtime().settings.route_rate, _runtime().settings.route_burst)


def forget_container() -> None:
    """Drop what a container keeps between invocations (settings, store, app), as a cold start would."""
    for cached in (_runtime, _delivery, _slack, _gate, _limits):
        cached.cache_clear()


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
    try:
        _runtime()  # a cold start: settings, SSM secrets, the store
    except (SettingsError, *AWS_ERRORS) as exc:
        # Not cached: the next invocation tries again (SSM may be back). One line, no traceback.
        reason = str(exc) if isinstance(exc, SettingsError) else describe_aws_error(exc)
        log.error("opsbot cannot start: %s", reason)
        return _aws_response(HttpResponse(503, f"opsbot cannot start: {reason}\n", headers=(("Retry-After", "5"),)))
    return _answer(event, context)


def _answer(event: dict[str, Any], context: Any) -> dict[str, Any]:
    method, path = _method_and_path(event)
    # Bolt marks its own asynchronous re-invocation (the lazy half) with a top-level "method";
    # API Gateway and Function URLs never send that key, so no HTTP client can pose as one.
    if event.get("method") == "NONE":
        token = WORK_DEADLINE.set(_deadline_of(context))
        try:
            lazy: dict[str, Any] = _slack().handle(event, context)
        finally:
            WORK_DEADLINE.reset(token)
        return lazy
    if path.endswith("/slack/events"):
        refused = _check_slack(event, method)
        if refused is not None:
            return _aws_response(refused)
        result: dict[str, Any] = _slack().handle(event, context)
        return result
    if path.endswith("/healthz"):
        return _aws_response(HttpResponse(200, "ok\n"))
    from bot.http import route_request  # the WSGI server's module: not on a Slack request's path

    return _aws_response(route_request(_runtime(), COMMANDS, method, path, _header(event, "authorization"), _limits()))


def _deadline_of(context: Any) -> float | None:
    """When the work of this invocation must end: its timeout less what delivering needs."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return None
    return time.time() + remaining() / 1000 - DELIVERY_ROOM


def _check_slack(event: dict[str, Any], method: str) -> HttpResponse | None:
    if method != "POST":
        return HttpResponse(405, "use POST\n", headers=(("Allow", "POST"),))
    raw = event.get("body") or ""
    if len(raw) > MAX_BODY * 4 // 3 + 4:  # before decoding: base64 is 4 characters per 3 bytes
        return refusal(413, f"body over {MAX_BODY // 1024} KiB")
    try:
        body = base64.b64decode(raw, validate=True) if event.get("isBase64Encoded") else raw.encode()
    except (binascii.Error, ValueError):
        return refusal(400, "body is not valid base64")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    return _gate().check(headers, body)


def _aws_response(response: HttpResponse) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": response.content_type, **dict(response.headers)},
        "body": response.body,
        "isBase64Encoded": False,
    }


# Secrets stay out of the function's configuration: SSM SecureString parameters, read at start.
_SECRET_PARAMETERS = {
    "SLACK_BOT_TOKEN": "OPSBOT_SLACK_TOKEN_PARAMETER",
    "SLACK_SIGNING_SECRET": "OPSBOT_SLACK_SIGNING_SECRET_PARAMETER",
}


CONFIG_PARAMETER = "OPSBOT_CONFIG_PARAMETER"


def settings_from_env(env: Mapping[str, str], aws: AwsClients) -> Settings:
    """Settings from the environment, Slack secrets from SSM, each feature's options from its variables."""
    resolved = dict(env)
    for variable, parameter in _SECRET_PARAMETERS.items():
        if not env.get(variable) and env.get(parameter):
            reply = aws.client("ssm").get_parameter(Name=env[parameter], WithDecryption=True)
            resolved[variable] = reply["Parameter"]["Value"]
    # The settings file (accounts, channels, the policy, per-command options), kept in SSM: the
    # package carries no file of the deployment's own.
    config_text = None
    if env.get(CONFIG_PARAMETER):
        reply = aws.client("ssm").get_parameter(Name=env[CONFIG_PARAMETER], WithDecryption=True)
        config_text = (reply["Parameter"]["Value"], f"{CONFIG_PARAMETER}: {env[CONFIG_PARAMETER]}")
    settings = load_settings(resolved, config_text)
    command_options = dict(settings.command_options)
    for command in COMMANDS:
        key = command.name.lstrip("/")
        options = dict(settings.options_for(command.name))
        for var, (option, kind) in command.env_options.items():
            if env.get(var):
                try:
                    options[option] = kind(env[var])
                except ValueError:
                    raise SettingsError(f"{var}: expected a {kind.__name__}, got {env[var]!r}") from None
        command_options[key] = options
    return dataclasses.replace(settings, command_options=command_options)


def queue_urls(env: Mapping[str, str]) -> tuple[str, str]:
    """The delivery queue and its dead-letter queue (the template passes both); empty: no queue."""
    urls = []
    for name in ("OPSBOT_DELIVERY_QUEUE_URL", "OPSBOT_DELIVERY_DEAD_LETTER_URL"):
        url = env.get(name) or ""
        if url and not url.startswith(("https://", "http://")):
            raise SettingsError(f"{name}: expected an SQS queue URL, got {url!r}")
        urls.append(url)
    return urls[0], urls[1]


def delivery_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The delivery queue's sender (SQS event source, ReportBatchItemFailures): bot.slack.sender."""
    from bot.slack.sender import STOP_BEFORE_END, QueueSender  # this entry's alone

    try:
        delivery = _delivery()
    except (SettingsError, *AWS_ERRORS) as exc:
        # Every message comes back (after its visibility timeout): nothing is lost while SSM is away.
        reason = str(exc) if isinstance(exc, SettingsError) else describe_aws_error(exc)
        log.error("opsbot cannot send: %s", reason)
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event.get("Records") or ()]}
    if delivery.queue is None:
        log.error("delivery_handler needs OPSBOT_DELIVERY_QUEUE_URL (the queue it drains)")
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event.get("Records") or ()]}
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    until = time.time() + (remaining() / 1000 if remaining else 60.0) - STOP_BEFORE_END
    return QueueSender(delivery, delivery.queue).handle(event, until)


def _entry_point(entry: LambdaEntry) -> Callable[[Mapping[str, Any], Any], dict[str, Any]]:
    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        runtime = _runtime()
        post = _delivery().post if runtime.settings.slack_bot_token else None
        ctx = runtime.context(f"lambda:{entry.name}", "", post=post)
        result = entry.run(event or {}, ctx)
        # The function is frozen once it returns: what it (or an earlier invocation) queued goes now.
        _delivery().flush(_delivery().policy.wait)
        return result

    handler.__name__ = handler.__qualname__ = entry.name
    return handler


for _command in COMMANDS:
    for _entry in _command.lambda_entries:
        globals()[_entry.name] = _entry_point(_entry)
