"""The contract between the plumbing and a feature, and the one place errors become replies.

A feature package exposes a `SlashCommand`: its name, help, a `handle(text, ctx) -> Reply`, and
everything else it contributes: HTTP routes, Block Kit buttons, background jobs, Lambda entry
points and the variables that configure it there. `bot/` loops over what is declared and never
names a feature. Slack, the CLI and the demo all call `run_command`, so every entry point
refuses, explains and translates errors the same way.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from bot.aws import AwsClients, describe_aws_error, is_aws_error
from bot.reply import Reply
from bot.settings import Settings, SettingsError
from bot.state import Store
from bot.text import Mrkdwn

log = logging.getLogger(__name__)

# Set when the process is stopping (Ctrl-C, SIGTERM): long work (a follow) ends at its next step
# instead of holding the exit, which waits for the worker threads.
SHUTDOWN = threading.Event()

HELP_WORDS = frozenset({"help", "-h", "--help", "?"})
MAX_TEXT = 1000  # longer command text is refused before any parsing


class UsageError(ValueError):
    """The request is malformed; the message is fit for the user and is followed by usage."""


class CommandError(RuntimeError):
    """The request was understood but cannot be answered (unknown environment, n out of range)."""


@dataclass
class CommandContext:
    """Everything a command may use: injected, so tests and the CLI build their own."""

    settings: Settings
    aws: AwsClients
    store: Store
    user_id: str = "cli"
    channel_id: str = "cli"
    progress: Callable[[str], None] = lambda _text: None
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    trusted: bool = False  # the terminal: whoever runs it already holds the AWS credentials
    # post(channel, reply): a message to a channel through the one way out to Slack (paced, retried).
    post: Callable[[str, Reply], None] | None = None
    # Epoch seconds by which the work must have ended (a Lambda invocation's timeout, less room to
    # deliver); None: no limit. Long work (a follow) stops before it and says so.
    deadline: float | None = None

    @property
    def is_admin(self) -> bool:
        return self.trusted or self.settings.is_admin(self.user_id)

    def now(self) -> datetime:
        return self.clock()


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    user_id: str  # owner of the bearer token that authenticated the request


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()  # e.g. Retry-After


@dataclass(frozen=True)
class Route:
    """An authenticated HTTP route a command offers (on the server and on Lambda)."""

    method: str
    pattern: re.Pattern[str]
    handler: Callable[[re.Match[str], HttpRequest, CommandContext], HttpResponse]


ButtonHandler = Callable[[str, CommandContext], Reply]


@dataclass(frozen=True)
class Job:
    """Background work a feature runs on a timer inside `opsbot serve`, one replica at a time."""

    name: str
    interval: Callable[[Settings], float | None]  # seconds between runs; None: off in these settings
    run: Callable[[CommandContext], None]


@dataclass(frozen=True)
class LambdaEntry:
    """A function `bot.lambda_handler` exposes under `name` for a template's `Handler:` (e.g. a schedule)."""

    name: str
    run: Callable[[Mapping[str, Any], CommandContext], dict[str, Any]]


# A variable that sets one of a feature's options on Lambda (no settings file there): name -> (key, type).
EnvOptions = Mapping[str, tuple[str, Callable[[str], Any]]]


@dataclass(frozen=True)
class SlashCommand:
    name: str  # "/eb-ip"
    summary: str  # one line, shown in Slack's command picker
    usage_hint: str  # e.g. "[env] [n] [--region R]"
    help: str  # mrkdwn, shown for `/cmd help` and after a usage error
    handle: Callable[[str, CommandContext], Reply]
    routes: tuple[Route, ...] = ()
    # Block Kit action_id -> handler of the button's value; the reply replaces the message.
    buttons: Mapping[str, ButtonHandler] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    lambda_entries: tuple[LambdaEntry, ...] = ()
    env_options: EnvOptions = field(default_factory=dict)
    # What the usage cannot say before the settings are read (e.g. the configured checks): a line shown
    # under the usage, with help and after a usage error; "" adds nothing.
    usage_note: Callable[[Settings], str] | None = None
    # The feature's part of the App Home: what it is doing for `ctx.user_id` (their follows, their
    # tokens), as Block Kit blocks whose buttons are among `buttons`. None: summary and help only.
    home: Callable[[CommandContext], list[dict[str, Any]]] | None = None

    @property
    def usage(self) -> str:
        return f"Usage: `{self.name} {self.usage_hint}`".rstrip()

    def usage_for(self, settings: Settings) -> Mrkdwn:
        """The usage line and the settings' note under it, as plain text escaped for Slack."""
        try:
            note = self.usage_note(settings) if self.usage_note else ""
        except SettingsError:
            note = ""  # the command itself says what is misconfigured when it runs
        return Mrkdwn.escape(f"{self.usage}\n{note}" if note else self.usage)


def help_reply(command: SlashCommand, settings: Settings) -> Reply:
    # The name, summary and help are the feature's own literals; the usage note reads the settings.
    head = Mrkdwn(f"*{command.name}* — {command.summary}\n")
    return Reply.private(head + command.usage_for(settings) + Mrkdwn("\n\n" + command.help))


def failure_reply(exc: BaseException, command_name: str, usage: str = "") -> Reply:
    """Turn anything a command raised into a short private reply; log the unexpected."""
    if isinstance(exc, UsageError):
        return Reply.error(Mrkdwn.escape(f"{exc}\n{usage}".strip()))
    if isinstance(exc, CommandError):
        return Reply.error(Mrkdwn.escape(str(exc)))
    if is_aws_error(exc):
        return Reply.error(Mrkdwn.escape(describe_aws_error(exc)))
    log.error("%s failed", command_name, exc_info=exc)
    return Reply.error(Mrkdwn("{} failed unexpectedly; the error is in the bot's log.").format(command_name))


def run_command(command: SlashCommand, text: str, ctx: CommandContext) -> Reply:
    """Check access, answer help, run the command; never raises."""
    text = text.strip()
    if not ctx.trusted and not ctx.settings.access_for(command.name).allows(ctx.user_id, ctx.channel_id):
        return Reply.error(Mrkdwn("Sorry, you are not allowed to run {} here.").format(command.name))
    if text.lower() in HELP_WORDS:
        return help_reply(command, ctx.settings)
    if len(text) > MAX_TEXT:
        usage = command.usage_for(ctx.settings)
        return Reply.error(
            Mrkdwn("That is too long for {} ({} characters).\n{}").format(command.name, len(text), usage)
        )
    try:
        return command.handle(text, ctx)
    except Exception as exc:
        return failure_reply(exc, command.name, command.usage_for(ctx.settings))


def run_button(command: SlashCommand, action_id: str, value: str, ctx: CommandContext) -> Reply:
    handler = command.buttons.get(action_id)
    if handler is None:
        return Reply.error(Mrkdwn("This button is no longer supported."))
    try:
        return handler(value, ctx)
    except Exception as exc:
        return failure_reply(exc, command.name)


def require_admin(ctx: CommandContext, what: str) -> None:
    if not ctx.is_admin:
        raise CommandError(f"Only opsbot admins may {what}. Ask one of them, or see OPSBOT_ADMINS.")


def lazy(target: str) -> Callable[..., Any]:
    """`"package.module:function"` as a function that imports its module on the first call.

    A feature's `SlashCommand` points its handler, buttons, routes, jobs, home and Lambda entries
    here, so importing the declaration (a Lambda cold start, before its ack) loads none of the
    feature's modules; the first call pays for them once."""
    module_name, _, name = target.partition(":")
    resolved: list[Callable[..., Any]] = []

    def call(*args: Any, **kwargs: Any) -> Any:
        if not resolved:
            resolved.append(getattr(import_module(module_name), name))
        return resolved[0](*args, **kwargs)

    call.__name__ = call.__qualname__ = name  # e.g. a variable's error names its type by this
    return call
