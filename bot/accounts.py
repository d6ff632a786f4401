"""Named AWS accounts, which channels may use which, and the `--account NAME` every AWS command takes.

Pure: the settings build an `AccountMap`, the plumbing asks it which account a request runs in,
and bot.aws.clients assumes that account's role for the person asking. No accounts configured
means no `--account` flag at all: every command acts on the bot's own credentials, as before.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

ANY_CHANNEL = "*"  # [channels."*"]: what every channel not listed may use
FLAG = "--account"
_DASHES = ("\u2013", "\u2014")  # Slack and macOS turn a typed "--" into an en or em dash
_WORD = re.compile(r"\S+")
_IDENTITY_UNSAFE = re.compile(r"[^\w+=,.@-]", re.ASCII)  # what sts:SourceIdentity and RoleSessionName refuse


class AccountRefused(ValueError):
    """The request names an account it may not use (or none where one is needed); fit for the user."""


@dataclass(frozen=True)
class Account:
    name: str  # the settings key, what `--account` takes
    role_arn: str | None = None  # None: the bot's own credentials
    external_id: str | None = None
    region: str | None = None  # None: the bot's default region
    label: str = ""

    @property
    def title(self) -> str:
        return f"{self.name} ({self.label})" if self.label else self.name


@dataclass(frozen=True)
class ChannelAccounts:
    default: str | None
    allowed: frozenset[str]


@dataclass(frozen=True)
class AccountMap:
    accounts: Mapping[str, Account] = field(default_factory=dict)
    channels: Mapping[str, ChannelAccounts] = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.accounts)

    def for_channel(self, channel_id: str, *, anywhere: bool = False) -> ChannelAccounts:
        """What `channel_id` may use; `anywhere` (the terminal) may use every account."""
        mapped = self.channels.get(channel_id) or self.channels.get(ANY_CHANNEL)
        if anywhere:
            only = next(iter(self.accounts)) if len(self.accounts) == 1 else None
            return ChannelAccounts(mapped.default if mapped else only, frozenset(self.accounts))
        return mapped or ChannelAccounts(None, frozenset())

    def choose(self, channel_id: str, requested: str | None, *, anywhere: bool = False) -> Account | None:
        """The account a request runs in: None when no accounts are configured (the bot's own)."""
        if not self.configured:
            return None
        here = self.for_channel(channel_id, anywhere=anywhere)
        names = ", ".join(f"`{name}`" for name in sorted(here.allowed))
        if not here.allowed:
            raise AccountRefused(
                "No AWS account is set for this channel; an admin maps it under [channels] in the settings."
            )
        if requested is None:
            if here.default is None:
                raise AccountRefused(f"This channel has no default AWS account: add `{FLAG} NAME` ({names}).")
            return self.accounts[here.default]
        name = requested.lower()
        if name not in here.allowed:
            raise AccountRefused(f"This channel may not use that account; `{FLAG}` takes one of: {names}.")
        return self.accounts[name]


def take_account(text: str) -> tuple[str | None, str]:
    """`--account NAME` (or `--account=NAME`) taken out of the text, which is otherwise left as typed.

    One pass over the words, so the feature's own parser never sees the flag. Raises AccountRefused
    when the flag is given twice or without a name.
    """
    words = list(_WORD.finditer(text))
    found: str | None = None
    cut: list[tuple[int, int]] = []
    at = 0
    while at < len(words):
        word = words[at].group()
        word = "--" + word[1:] if word.startswith(_DASHES) else word
        name, eq, value = word.partition("=")
        if name.lower() != FLAG:
            at += 1
            continue
        if found is not None:
            raise AccountRefused(f"Give `{FLAG}` once.")
        end = at
        if not eq and at + 1 < len(words) and not words[at + 1].group().startswith("-"):
            end, value = at + 1, words[at + 1].group()
        if not value:
            raise AccountRefused(f"`{FLAG}` needs the name of an account.")
        found = value
        cut.append((words[at].start(), words[end].end()))
        at = end + 1
    for start, end in reversed(cut):
        text = text[:start] + text[end:]
    return found, text


def source_identity(who: str) -> str:
    """What CloudTrail shows as the person (or job) behind every call: `slack-U0ABC123`, `opsbot-job-NAME`.

    Slack user ids become `slack-<id>`; everything else (the terminal, a job) is the bot's own doing.
    """
    if re.fullmatch(r"[UW][A-Z0-9]{2,}", who):
        return f"slack-{who}"
    return ("opsbot-" + _IDENTITY_UNSAFE.sub("-", who.replace(":", "-")))[:64]
