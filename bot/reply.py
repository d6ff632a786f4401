"""What a command answers, independent of where it is shown (Slack, terminal, HTML transcript)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.command import CommandContext


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (a chart, a config file)."""

    filename: str
    content: bytes
    title: str = ""


@dataclass(frozen=True)
class LogText:
    """Every line of a log post as plain text: posts of it queued behind each other in one channel
    may be merged into one message and one file named `filename` (bot.slack.merge)."""

    title: str
    text: str
    filename: str


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    # Slack's (legacy) message attachments, used only for their colour bar: each is
    # {"color": "#2eb886", "blocks": [...]}, shown after `blocks`.
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: tuple[Attachment, ...] = ()
    public: bool = True  # in_channel for results; ephemeral for errors, help and refusals
    ok: bool = True  # False makes the CLI exit non-zero
    replace_original: bool = False  # for answers to a button press
    # A message a job keeps in place in a channel: the first post under this key is posted, later
    # posts under it edit that message (chat.update), so a live table does not flood the channel.
    replace_key: str = ""
    # A post that goes into the thread of the message posted under this replace_key (a follow's lines).
    thread_key: str = ""
    log: LogText | None = None  # set by log posts: they may be merged with others queued before them
    # Work that goes on once the reply is out (a follow), on the same worker: called with the context
    # and False when Slack refused the reply, so the work can give up (and free what it holds).
    afterwards: Callable[[CommandContext, bool], None] | None = field(default=None, compare=False)

    @classmethod
    def private(cls, text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
        return cls(text=text, blocks=blocks or [], public=False)

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(text=text, public=False, ok=False)
