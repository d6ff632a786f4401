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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from bot import audit
from bot.accounts import Account, AccountRefused, source_identity, take_account
from bot.audit import AuditRecord
from bot.aws import AwsClients, describe_aws_error, is_aws_error
from bot.policy import DESTRUCTIVE, EVERYTHING, Action, Asker, Members
from bot.reply import Reply
from bot.settings import Settings, SettingsError
from bot.state import Store, StoreError
from bot.state.scoped import account_store
from bot.text import EMPTY, Mrkdwn

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
    # The configured account `aws` acts in (its role assumed for this user); None: the bot's own credentials.
    account: Account | None = None
    # A Slack user group's members, for the policy (cached); None where Slack cannot be asked.
    members: Members = lambda _group: None
    # The policy let this request do a destructive verb: the feature's own admin check then agrees.
    granted: bool = False

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
    per_account: bool = False  # with accounts configured: run once in each, as `opsbot-job-NAME`


@dataclass(frozen=True)
class LambdaEntry:
    """A function `bot.lambda_handler` exposes under `name` for a template's `Handler:` (e.g. a schedule)."""

    name: str
    run: Callable[[Mapping[str, Any], CommandContext], dict[str, Any]]


@dataclass(frozen=True)
class Verb:
    """Something a command does that the policy names on its own: `/lambda-capacity prune`.

    `applies` says whether a command text asks for it (the feature's own parsing, so the two never
    disagree); `buttons` are the action_ids that carry it out when pressed.
    """

    name: str  # "prune", "--follow"
    applies: Callable[[str], bool]
    destructive: bool = False
    buttons: tuple[str, ...] = ()


def first_word(word: str) -> Callable[[str], bool]:
    """`applies` for a verb that is the text's first word (as bot.args.split_verb reads it)."""
    return lambda text: (text.split(maxsplit=1) or [""])[0].lower() == word


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
    # Acts in AWS: takes `--account NAME` when accounts are configured, and says which account answered.
    aws: bool = True
    verbs: tuple[Verb, ...] = ()

    def actions(self, text: str) -> list[Action]:
        """What the policy must allow for `text`: the command, and each of its verbs the text asks for."""
        asked = [Action(f"{self.name} {v.name}", v.destructive) for v in self.verbs if _asks(v, text)]
        return [Action(self.name), *asked]

    def button_actions(self, action_id: str) -> list[Action]:
        verbs = [v for v in self.verbs if action_id in v.buttons]
        return [Action(self.name), *(Action(f"{self.name} {v.name}", v.destructive) for v in verbs)]

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


def _asks(verb: Verb, text: str) -> bool:
    try:
        return verb.applies(text)
    except Exception:
        return False  # the text does not parse: the command refuses it with its usage, whatever it asked


def policy_refusal(actions: list[Action], ctx: CommandContext) -> Reply | None:
    """The one place the policy is enforced: commands, buttons and HTTP routes all come here.

    The terminal is exempt: whoever runs it holds the bot's credentials already.
    """
    if ctx.trusted:
        return None
    asker = Asker(ctx.user_id, ctx.channel_id, ctx.account.name if ctx.account else None)
    policy = ctx.settings.policy
    for action in actions:
        why = policy.refusal(action, asker, ctx.members)
        if why is not None:
            return Reply.error(Mrkdwn.escape(why))
    ctx.granted = any(action.destructive for action in actions)
    return None


def check_policy(settings: Settings, commands: Sequence[SlashCommand]) -> None:
    """Refuse to start on a rule naming an action no command offers: a misspelt deny would deny nothing."""
    offered = {EVERYTHING, DESTRUCTIVE} | {c.name for c in commands}
    offered |= {f"{c.name} {v.name}" for c in commands for v in c.verbs}
    for rule in settings.policy_rules.rules:
        unknown = sorted(rule.actions - offered)
        if unknown:
            raise SettingsError(f"OPSBOT_CONFIG [[policy]] {rule.name!r}: no command or verb {unknown[0]!r}")


def help_reply(command: SlashCommand, settings: Settings) -> Reply:
    # The name, summary and help are the feature's own literals; the usage note reads the settings.
    head = Mrkdwn(f"*{command.name}* — {command.summary}\n")
    accounts = EMPTY
    if command.aws and settings.accounts.configured:
        accounts = Mrkdwn("\n• `--account NAME` — the AWS account to act in, of those this channel may use.")
    return Reply.private(head + command.usage_for(settings) + Mrkdwn("\n\n" + command.help) + accounts)


def enter_account(command: SlashCommand, text: str, ctx: CommandContext) -> tuple[str, CommandContext]:
    """The text without `--account`, and a context whose `aws` acts in the chosen account as this user.

    Raises AccountRefused (a reply for the user) or RoleNotAssumed (an AWS error). With no accounts
    configured the text is left alone, so `--account` is an unknown option as it always was.
    """
    accounts = ctx.settings.accounts
    if not command.aws or not accounts.configured:
        return text, ctx
    requested, text = take_account(text)
    account = accounts.choose(ctx.channel_id, requested, anywhere=ctx.trusted)
    return text, ctx if account is None else in_account(ctx, account)


def in_account(ctx: CommandContext, account: Account) -> CommandContext:
    """The context acting in `account` as ctx's user (or job), with that account's part of the store."""
    if account.role_arn is None:
        aws = ctx.aws.in_region(account.region)
    else:
        who = source_identity(ctx.user_id)
        aws = ctx.aws.assumed(account.role_arn, who, external_id=account.external_id, region=account.region)
    return replace(ctx, aws=aws, account=account, store=account_store(ctx.store, account.name))


def job_context(ctx: CommandContext, account: Account) -> CommandContext:
    """A per-account job's context in `account`: its posts (an alert) say which account they are about."""
    entered, post = in_account(ctx, account), ctx.post
    if post is not None:
        entered.post = lambda channel, reply: post(channel, said_for(reply, account))
    return entered


# A button made under an account carries the account's name before its value: the press acts in
# the same account (the plan a Delete confirms was made there), checked again at press time.
_BUTTON_ACCOUNT = "account:"


def said_for(reply: Reply, account: Account | None) -> Reply:
    """The reply, saying which AWS account it answered for, its buttons bound to that account."""
    if account is None:
        return reply
    line = Mrkdwn("AWS account: *{}*").format(account.title)
    if not reply.blocks:
        return replace(reply, text=reply.text + Mrkdwn("\n_{}_").format(line))
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]}
    blocks = [_bound(block, account) for block in reply.blocks]
    attachments = [{**a, "blocks": [_bound(b, account) for b in a.get("blocks", [])]} for a in reply.attachments]
    return replace(reply, blocks=[*blocks, context], attachments=attachments)


def _bound(block: dict[str, Any], account: Account) -> dict[str, Any]:
    def bind(element: Any) -> Any:
        if isinstance(element, dict) and element.get("type") == "button" and "value" in element:
            return {**element, "value": f"{_BUTTON_ACCOUNT}{account.name} {element['value']}"}
        return element

    bound = {**block}
    if isinstance(block.get("elements"), list):
        bound["elements"] = [bind(e) for e in block["elements"]]
    if "accessory" in block:
        bound["accessory"] = bind(block["accessory"])
    return bound


def enter_button_account(command: SlashCommand, value: str, ctx: CommandContext) -> tuple[str, CommandContext]:
    """The button's own value, and a context in the account the message was made in (or the channel's)."""
    requested = None
    if value.startswith(_BUTTON_ACCOUNT):
        requested, _, value = value.removeprefix(_BUTTON_ACCOUNT).partition(" ")
    if not command.aws or not ctx.settings.accounts.configured:
        return value, ctx
    text = f"--account {requested}" if requested else ""
    return value, enter_account(command, text, ctx)[1]


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
    return _dispatch(
        command.name,
        text,
        ctx,
        enter=lambda c: enter_account(command, text, c),
        actions=command.actions,
        work=command.handle,
        usage=command.usage_for(ctx.settings),
    )


def run_button(command: SlashCommand, action_id: str, value: str, ctx: CommandContext) -> Reply:
    handler = command.buttons.get(action_id)
    if handler is None:
        return Reply.error(Mrkdwn("This button is no longer supported."))
    return _dispatch(
        f"{command.name} button:{action_id}",
        value,
        ctx,
        enter=lambda c: enter_button_account(command, value, c),
        actions=lambda _value: command.button_actions(action_id),
        work=handler,
    )


def _dispatch(
    what: str,
    text: str,
    ctx: CommandContext,
    enter: Callable[[CommandContext], tuple[str, CommandContext]],
    actions: Callable[[str], list[Action]],
    work: Callable[[str, CommandContext], Reply],
    usage: str = "",
) -> Reply:
    """The same for a command and a button press: the account, the policy, the work, the audit record."""
    started, at, given = time.monotonic(), ctx.now().timestamp(), ctx
    outcome = "refused"
    try:
        text, ctx = enter(ctx)
        reply = policy_refusal(actions(text), ctx)
        if reply is None:
            reply = work(text, ctx)
            outcome = "ok" if reply.ok else "error"
    except AccountRefused as exc:
        reply = Reply.error(Mrkdwn.escape(str(exc)))
    except Exception as exc:
        reply, outcome = failure_reply(exc, what.split(" ")[0], usage), "error"
    account = ctx.account.name if ctx.account else ""
    entry = AuditRecord(at, ctx.user_id, ctx.channel_id, account, what, text, outcome, time.monotonic() - started)
    try:
        audit.record(given.store, entry, ctx.settings.audit_days)
    except StoreError as exc:  # the answer still goes out; the log says what the trail missed
        log.warning("audit record for %s by %s not stored: %s", what, ctx.user_id, exc)
    if reply.afterwards is not None and ctx is not given:
        # The entry point runs the work after the reply with the context it made: a follow must go on
        # in the account (its credentials and its part of the store) the reply was made in.
        later, entered = reply.afterwards, ctx
        reply = replace(reply, afterwards=lambda _given, sent: later(entered, sent))
    return said_for(reply, ctx.account)


def require_admin(ctx: CommandContext, what: str) -> None:
    if not (ctx.is_admin or ctx.granted):
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
