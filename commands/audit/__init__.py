"""/opsbot-audit: admins read the audit trail: the latest entries, one user's, one account's, or a CSV of them.

`bot.audit` records every command and button press the plumbing dispatches; this command only
reads it. Everything shown came from users (their text) or settings, so it is escaped here.
"""

from __future__ import annotations

import re
from datetime import datetime

from bot.args import BadValue, Flag, Syntax, number_flag, parse_args, split_verb
from bot.audit import AuditRecord, recent, to_csv
from bot.command import CommandContext, SlashCommand, UsageError, Verb, first_word, require_admin
from bot.reply import Attachment, Reply
from bot.text import EMPTY, Mrkdwn, channel_mention, user_mention

NAME = "/opsbot-audit"
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,})(?:\|[^>]{0,80})?>|([UW][A-Z0-9]{2,})")
_ACCOUNT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


def _user(word: str) -> str:
    found = _MENTION.fullmatch(word)
    if not found:
        raise BadValue()
    return found[1] or found[2]


def _account(word: str) -> str:
    if not _ACCOUNT.fullmatch(word.lower()):
        raise BadValue()
    return word.lower()


USER = Flag("--user", "a Slack user (@someone)", _user)
# A filter here, not the account to act in: this command does not act in AWS (`aws=False`).
ACCOUNT = Flag("--account", "an account name", _account)
LIMIT = number_flag("--limit", 1, 1000)
SYNTAX = Syntax((USER, ACCOUNT, LIMIT))


def _line(entry: AuditRecord, ctx: CommandContext) -> Mrkdwn:
    when = datetime.fromtimestamp(entry.at, ctx.settings.timezone).strftime("%Y-%m-%d %H:%M:%S")
    account = Mrkdwn(" in {}").format(entry.account) if entry.account else EMPTY
    text = entry.text.replace("`", "'").replace("\n", " ")
    said = Mrkdwn(" `{}`").format(text) if text else EMPTY
    who, where = user_mention(entry.user_id), channel_mention(entry.channel_id)
    line = Mrkdwn("{} {} in {}{}: {}{} → {} ({:.1f} s)")
    return line.format(when, who, where, account, entry.command, said, entry.outcome, entry.seconds)


def handle(text: str, ctx: CommandContext) -> Reply:
    require_admin(ctx, "read the audit trail")
    verb, rest = split_verb(text, "export")
    args = parse_args(rest, SYNTAX)
    if args.words:
        raise UsageError("Give who or which account with `--user` or `--account`.")
    entries = recent(ctx.store, user=args.get(USER), account=args.get(ACCOUNT), limit=args.get(LIMIT, 20))
    if verb == "export":
        csv_file = Attachment("opsbot-audit.csv", to_csv(entries), Mrkdwn("opsbot audit trail"))
        count = f"{len(entries):,} {'entry' if len(entries) == 1 else 'entries'}"
        return Reply(text=Mrkdwn("The audit trail: {}, newest first.").format(count), files=(csv_file,), public=False)
    if not entries:
        return Reply.private(Mrkdwn("No audit entries match."))
    return Reply.private(Mrkdwn("\n").join(_line(entry, ctx) for entry in entries))


HELP = """\
Admins: what opsbot was asked to do, newest first (kept for OPSBOT_AUDIT_DAYS, default 90).
• `/opsbot-audit` — the latest 20 entries; `--limit N` (1–1000).
• `--user @someone` — one user's; `--account NAME` — one AWS account's (among the latest 1,000).
• `/opsbot-audit export [same options]` — the same as a CSV file."""

COMMAND = SlashCommand(
    name=NAME,
    summary="The audit trail: who ran what, where, in which AWS account, and how it ended",
    usage_hint="[export] [--user @someone] [--account NAME] [--limit N]",
    help=HELP,
    handle=handle,
    aws=False,
    verbs=(Verb("export", first_word("export")),),
)
