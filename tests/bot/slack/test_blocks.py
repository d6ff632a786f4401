"""Replies as a terminal shows them: the blocks Slack would render, as plain text."""

from __future__ import annotations

from bot.reply import Reply
from bot.slack.blocks import as_text, code_sections, context, header, section


def test_terminal_text_is_what_the_blocks_say() -> None:
    blocks = [
        header("Prune plan"),
        section("Delete *2 versions* &amp; keep &lt;aliased&gt; ones"),
        *code_sections(["a  1", "b  2"]),
        context("_as of just now_"),
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Delete"}}]},
    ]
    assert as_text(Reply("fallback", blocks=blocks)) == (
        "Prune plan\n==========\nDelete *2 versions* & keep <aliased> ones\na  1\nb  2\n_as of just now_\n[ Delete ]"
    )


def test_without_blocks_the_text_is_shown() -> None:
    assert as_text(Reply("just text &amp; more")) == "just text & more"
