"""What a command answers, independent of where it is shown (Slack, terminal, HTML transcript)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (a chart, a config file)."""

    filename: str
    content: bytes
    title: str = ""


@dataclass(frozen=True)
class Reply:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    files: tuple[Attachment, ...] = ()
    public: bool = True  # in_channel for results; ephemeral for errors, help and refusals
    ok: bool = True  # False makes the CLI exit non-zero
    replace_original: bool = False  # for answers to a button press
    # A message a job keeps in place in a channel: the first post under this key is posted, later
    # posts under it edit that message (chat.update), so a live table does not flood the channel.
    replace_key: str = ""

    @classmethod
    def private(cls, text: str, blocks: list[dict[str, Any]] | None = None) -> Reply:
        return cls(text=text, blocks=blocks or [], public=False)

    @classmethod
    def error(cls, text: str) -> Reply:
        return cls(text=text, public=False, ok=False)
