"""The Bolt app: where every slash command enters and where its reply leaves.

One code path for Socket Mode, HTTP and AWS Lambda: each command is registered as
`app.command(name)(ack=ack_at_once, lazy=[run_<command>])` with `process_before_response=True`.
The ack runs where the request is handled (the HTTP server's thread, a Socket Mode client
worker, the Lambda invocation), so it never queues behind slow work; the work runs on a pool
of its own size (Bolt's default 5 threads, shared with acks, lose the 3-second race under load).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from functools import partial
from typing import Any

from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.error import BoltError
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.command import CommandContext, SlashCommand, check_policy, run_button, run_command
from bot.reply import Reply
from bot.runtime import DELIVERY_ROOM, Runtime
from bot.settings import SettingsError
from bot.slack.delivery import SlackDelivery, SlackProgress
from bot.slack.gate import first_run
from bot.slack.home import home_view, mention_overview
from bot.slack.usergroups import members_via
from bot.text import Mrkdwn

log = logging.getLogger(__name__)


class _SkipTokenWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client (which carries that very token
    and SLACK_API_URL) wins over it: true, expected, and confusing at every start."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


class _NoRequestBodies(logging.Filter):
    """Bolt logs the whole body of a request that fails verification (at INFO: 100 MB of it, if
    that was sent) and of one no listener handles. Keep the event, drop the body."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        for prefix in ("Invalid request signature detected", "Unhandled request"):
            if message.startswith(prefix):
                record.msg, record.args = f"{prefix} (body not logged)", None
        return True


logging.getLogger("slack_bolt.App").addFilter(_SkipTokenWarning())
logging.getLogger("slack_bolt.App").addFilter(_NoRequestBodies())
logging.getLogger("slack_bolt.RequestVerification").addFilter(_NoRequestBodies())

# How long follow-up work waits to learn whether its reply was refused (a paced lane is seconds).
_REPLY_WAIT = 30.0
_PUMP_SECONDS = 5.0
# The Events API events the app answers; the manifest subscribes to exactly these (tests/test_manifest.py).
EVENTS = ("app_home_opened", "app_mention")
MAX_LOGGED_TEXT = 200  # characters of command text in the log; the rest is counted, not shown


def excerpt(text: str) -> str:
    """The text as a log may hold it: escaped (no forged lines), and bounded."""
    if len(text) <= MAX_LOGGED_TEXT:
        return repr(text)
    return f"{text[:MAX_LOGGED_TEXT]!r}… ({len(text)} characters)"


def ack_at_once(ack: Ack) -> None:
    ack()


def _slug(name: str) -> str:
    return name.strip("/").replace("-", "_")


def _answer(
    runtime: Runtime,
    delivery: SlackDelivery,
    wait_for_delivery: bool,
    request: BoltRequest,
    user_id: str,
    channel_id: str,
    respond: Respond,
    work: Callable[[CommandContext], Reply],
) -> None:
    """What every listener does: run once per signed request, answer through the one way out."""
    if not first_run(runtime.store, request.headers, request.body):
        return
    progress, members = SlackProgress(delivery, channel_id), members_via(delivery.client)
    ctx = runtime.context(user_id, channel_id, progress=progress, post=delivery.post, members=members)
    reply = work(ctx)
    sent = delivery.send(reply, respond, channel_id)
    if wait_for_delivery:
        delivery.flush(delivery.policy.wait)
    if reply.afterwards is not None:
        _carry_on(reply.afterwards, ctx, sent, delivery, wait_for_delivery)


def _carry_on(
    afterwards: Callable[[CommandContext, bool], None],
    ctx: CommandContext,
    sent: Future[bool],
    delivery: SlackDelivery,
    wait_for_delivery: bool,
) -> None:
    """Run a reply's follow-up work once Slack has the reply, never letting it escape the worker.

    Only a refusal stops it: a reply still queued (Slack slow or down) goes out before anything
    the work posts after it, since both wait in the channel's lane.
    """
    try:
        refused = sent.result(timeout=_REPLY_WAIT) is False
    except FutureTimeout:
        refused = False
    finished = threading.Event()
    if wait_for_delivery:  # on Lambda nothing sends in the background: keep the lanes moving meanwhile
        pump = threading.Thread(target=_keep_sending, args=(delivery, finished), name="follow-up pump", daemon=True)
        pump.start()
    try:
        afterwards(ctx, not refused)
    except Exception:
        log.exception("the work after a reply in %s failed", ctx.channel_id)
    finally:
        finished.set()
    if wait_for_delivery:
        pump.join()
        wait = delivery.policy.wait
        if ctx.deadline is not None:  # what is left of the invocation, less a second or two to return
            wait = max(1.0, min(wait, ctx.deadline + DELIVERY_ROOM - 2 - time.time()))
        delivery.flush(wait)


def _keep_sending(delivery: SlackDelivery, finished: threading.Event) -> None:
    while not finished.is_set():
        delivery.flush(_PUMP_SECONDS)
        finished.wait(0.5)


def _command_worker(
    slash: SlashCommand, runtime: Runtime, delivery: SlackDelivery, wait_for_delivery: bool
) -> Callable[..., None]:
    # Bolt injects arguments by parameter name: `command` is the slash command payload.
    def listener(command: dict[str, Any], respond: Respond, request: BoltRequest) -> None:
        user_id, channel_id = command.get("user_id", ""), command.get("channel_id", "")
        text = str(command.get("text") or "")
        log.info("%s by %s in %s: %s", slash.name, user_id, channel_id, excerpt(text))
        answer = partial(run_command, slash, text)
        _answer(runtime, delivery, wait_for_delivery, request, user_id, channel_id, respond, answer)

    # Bolt finds a lazy listener again (on Lambda) by its function name.
    listener.__name__ = listener.__qualname__ = f"run_{_slug(slash.name)}"
    return listener


def _button_worker(
    command: SlashCommand,
    action_id: str,
    runtime: Runtime,
    delivery: SlackDelivery,
    wait_for_delivery: bool,
    commands: Sequence[SlashCommand],
) -> Callable[..., None]:
    def listener(body: dict[str, Any], action: dict[str, Any], respond: Respond, request: BoltRequest) -> None:
        user_id, channel_id = body.get("user", {}).get("id", ""), (body.get("channel") or {}).get("id", "")
        answer = partial(run_button, command, action_id, str(action.get("value", "")))
        if (body.get("view") or {}).get("type") == "home":  # no message to answer: the Home shows the outcome
            if first_run(runtime.store, request.headers, request.body):
                ctx = runtime.context(user_id, "home")
                reply = answer(ctx)
                delivery.publish_home(user_id, home_view(commands, ctx, note=reply.text))
            return
        _answer(runtime, delivery, wait_for_delivery, request, user_id, channel_id, respond, answer)

    listener.__name__ = listener.__qualname__ = f"press_{_slug(action_id)}"
    return listener


def _home_worker(commands: Sequence[SlashCommand], runtime: Runtime, delivery: SlackDelivery) -> Callable[..., None]:
    def publish_home(event: dict[str, Any], request: BoltRequest) -> None:
        user_id = str(event.get("user") or "")
        if event.get("tab") != "home" or not user_id or not first_run(runtime.store, request.headers, request.body):
            return
        delivery.publish_home(user_id, home_view(commands, runtime.context(user_id, "home")))

    return publish_home


def _mention_worker(
    commands: Sequence[SlashCommand], runtime: Runtime, delivery: SlackDelivery, wait_for_delivery: bool
) -> Callable[..., None]:
    def answer_mention(event: dict[str, Any], request: BoltRequest) -> None:
        channel_id, ts = str(event.get("channel") or ""), str(event.get("thread_ts") or event.get("ts") or "")
        if not channel_id or not ts or not first_run(runtime.store, request.headers, request.body):
            return
        ctx = runtime.context(str(event.get("user") or ""), channel_id)
        blocks = mention_overview(commands, ctx)
        delivery.in_thread(
            channel_id, ts, Reply(Mrkdwn("What opsbot can do: {}").format(", ".join(c.name for c in commands)), blocks)
        )
        if wait_for_delivery:
            delivery.flush(delivery.policy.wait)

    return answer_mention


def register(
    app: App,
    commands: Sequence[SlashCommand],
    runtime: Runtime,
    delivery: SlackDelivery,
    wait_for_delivery: bool = False,
) -> None:
    """Bind every command and its buttons, the App Home and @mentions: this is everything the app answers.

    On Lambda the function is frozen once the handler returns, so there the work waits for
    its reply to be delivered; a server lets the channel outbox deliver in the background.
    """
    for command in commands:
        worker = _command_worker(command, runtime, delivery, wait_for_delivery)
        app.command(command.name)(ack=ack_at_once, lazy=[worker])
        for action_id in command.buttons:
            button = _button_worker(command, action_id, runtime, delivery, wait_for_delivery, commands)
            app.action(action_id)(ack=ack_at_once, lazy=[button])
    app.event(EVENTS[0])(ack=ack_at_once, lazy=[_home_worker(commands, runtime, delivery)])
    app.event(EVENTS[1])(ack=ack_at_once, lazy=[_mention_worker(commands, runtime, delivery, wait_for_delivery)])


# Waits between tries of auth.test while Slack answers 5xx or 429 or cannot be reached; then the
# start fails (a supervisor restarts the bot), saying Slack is unreachable, not that the token is bad.
AUTH_TEST_WAITS = (0.5, 1.0, 2.0)
MAX_RETRY_AFTER = 10.0


class SlackUnreachable(RuntimeError):
    """Slack did not answer auth.test with a verdict on the token (5xx, 429, no connection)."""


def check_token(client: WebClient, waits: Sequence[float] = AUTH_TEST_WAITS) -> None:
    """auth.test, tried again while Slack cannot say: BoltError if Slack refuses the token,
    SlackUnreachable if it never answered."""
    for wait in (*waits, None):
        try:
            client.auth_test()
            return
        except SlackApiError as exc:
            status = exc.response.status_code
            if status != 429 and status < 500:
                raise BoltError(f"`token` is invalid (auth.test: {exc.response.get('error')})") from None
            reason, retry_after = f"HTTP {status}", exc.response.headers.get("Retry-After", "")
        except OSError as exc:  # URLError included
            reason, retry_after = str(getattr(exc, "reason", exc)), ""
        if wait is None:
            raise SlackUnreachable(reason)
        asked = float(retry_after) if retry_after.isdigit() else 0.0
        time.sleep(min(max(wait, asked), MAX_RETRY_AFTER))


def build_app(
    runtime: Runtime,
    commands: Sequence[SlashCommand],
    delivery: SlackDelivery | None = None,
    verify_token: bool = True,
    wait_for_delivery: bool = False,
    socket_mode: bool = False,
) -> App:
    """The Bolt app answering `commands`; its replies and the jobs' posts share `delivery`.

    Over HTTP (and Lambda) every request must carry Slack's signature, so there is no app without
    SLACK_SIGNING_SECRET: verification is always on. Only Socket Mode needs no secret: its requests
    arrive on a WebSocket the app-level token opened, and Bolt skips verification for them.
    """
    settings = runtime.settings
    if not socket_mode and not settings.slack_signing_secret:
        raise SettingsError("missing setting: SLACK_SIGNING_SECRET (to verify Slack's requests over HTTP)")
    check_policy(settings, commands)
    delivery = delivery or SlackDelivery.configured(settings, runtime.store)
    app = App(
        client=delivery.client,
        signing_secret=settings.slack_signing_secret or "",
        process_before_response=True,
        listener_executor=ThreadPoolExecutor(settings.worker_threads, thread_name_prefix="opsbot-work"),
        token_verification_enabled=verify_token,
    )
    register(app, commands, runtime, delivery, wait_for_delivery)
    return app
