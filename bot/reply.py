"""What a command answers, independent of where it is shown (Slack, terminal, HTML transcript)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.text import EMPTY, Mrkdwn

if TYPE_CHECKING:
    from bot.command import CommandContext


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (a chart, a config file)."""

    filename: str
    content: bytes
    title: Mrkdwn = EMPTY

    def __post_init__(self) -> None:
        object.__setattr__(self, "title", Mrkdwn.escape(self.title))


class Block(dict[str, Any]):
    """A block as bot.slack.blocks built it: every text in it escaped. A `Reply` escapes every
    string of any other dict it is given, so a block built by hand cannot ping either."""


def safe_blocks(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [b if isinstance(b, Block) else Block(_escaped_tree(b)) for b in blocks]


def _escaped_tree(value: Any) -> Any:
    # Types, ids and colours hold no & < > or backticks: escaping them changes nothing.
    if isinstance(value, dict):
        return {k: _escaped_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped_tree(v) for v in value]
    return Mrkdwn.escape(value) if isinstance(value, str) else value


@dataclass(frozen=True)
class LogText:
    """Every line of a log post as plain text: posts of it queued behind each other in one channel
    may be merged into one message and one file named `filename` (bot.slack.merge)."""

    title: str
    text: str
    filename: str


@dataclass(frozen=True)
class Reply:
    """`text` (what notifications show), the blocks, attachments and file titles are all Slack text:
    anything in them that is not `Mrkdwn` (or a built `Block`) is escaped here, at construction."""

    text: Mrkdwn
    blocks: list[dict[str, Any]] = field(default_factory=list)
    # Slack's (legacy) message attachments, used only for their colour bar: each is
    # {"color": "#2eb886", "blocks": [...]}, shown after `blocks`.
    attachments: list[dict[str, Any]] = field(default_factory=list)
    files: tuple[Attachment, ...] = ()
    # What goes instead of `blocks` when Slack refuses them as invalid_blocks (a workspace without
    # the newer blocks, bot/slack/data_blocks.py): sent automatically, once.
    fallback_blocks: list[dict[str, Any]] = field(default_factory=list)
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

    def __post_init__(self) -> None:
        object.__setattr__(self, "text", Mrkdwn.escape(self.text))
        object.__setattr__(self, "blocks", safe_blocks(self.blocks))
        object.__setattr__(self, "fallback_blocks", safe_blocks(self.fallback_blocks))
        attachments = [
            {k: safe_blocks(v) if k == "blocks" else _escaped_tree(v) for k, v in a.items()} for a in self.attachments
        ]
        object.__setattr__(self, "attachments", attachments)

    @classmethod
    def private(cls, text: Mrkdwn, blocks: list[dict[str, Any]] | None = None) -> Reply:
        return cls(text=text, blocks=blocks or [], public=False)

    @classmethod
    def error(cls, text: Mrkdwn) -> Reply:
        return cls(text=text, public=False, ok=False)
