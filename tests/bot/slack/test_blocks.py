"""Replies as a terminal shows them: the blocks Slack would render, as plain text."""

from __future__ import annotations

import json

import pytest
from slack_sdk.errors import SlackObjectFormationError

from bot.reply import Reply
from bot.slack.blocks import (
    MAX_BLOCKS,
    MAX_BLOCKS_JSON,
    MAX_HEADER_TEXT,
    MAX_MESSAGE_TEXT,
    MAX_SECTION_TEXT,
    Cell,
    actions,
    aligned,
    as_text,
    button,
    code_sections,
    confirm_dialog,
    context,
    fit_blocks,
    fit_text,
    header,
    section,
    table,
)
from bot.text import Mrkdwn


def test_terminal_text_is_what_the_blocks_say() -> None:
    blocks = [
        header("Prune plan"),
        section(Mrkdwn("Delete *2 versions* &amp; keep &lt;aliased&gt; ones")),
        *code_sections(["a  1", "b  2"]),
        context("_as of just now_"),
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Delete"}}]},
    ]
    assert as_text(Reply("fallback", blocks=blocks)) == (
        "Prune plan\n==========\nDelete *2 versions* & keep <aliased> ones\na  1\nb  2\n_as of just now_\n[ Delete ]"
    )


def test_without_blocks_the_text_is_shown() -> None:
    assert as_text(Reply(Mrkdwn("just text &amp; more"))) == "just text & more"
    assert as_text(Reply("raw <!here> & more")) == "raw <!here> & more"


def test_a_table_reads_in_the_terminal_as_aligned_columns() -> None:
    blocks = [header("Top"), *table([("Function", "Storage"), ("orders-api", "1.2 MiB"), ("x", "3 B")], {1})]
    assert as_text(Reply("fallback", blocks=blocks)) == (
        "Top\n===\nFunction    Storage\norders-api  1.2 MiB\nx               3 B"
    )


# -- what comes from users or AWS is clipped; what the code chooses must fit or raise


def test_long_user_text_is_clipped_with_an_ellipsis_not_refused() -> None:
    long = "x" * 5000
    assert section(long)["text"]["text"] == "x" * (MAX_SECTION_TEXT - 1) + "…"
    assert header(long)["text"]["text"] == "x" * (MAX_HEADER_TEXT - 1) + "…"
    assert context(long)["elements"][0]["text"].endswith("x…")
    assert button(long, "act", "v")["text"]["text"] == "x" * 74 + "…"
    dialog = confirm_dialog("Delete?", long, "Delete", "Keep")
    assert len(dialog["text"]["text"]) == 300 and dialog["text"]["text"].endswith("…")


def test_a_limit_the_code_breaks_fails_where_the_block_is_built() -> None:
    with pytest.raises(SlackObjectFormationError, match="action_id"):
        button("Delete", "a" * 256, "v")
    with pytest.raises(SlackObjectFormationError, match="value"):
        button("Delete", "act", "v" * 2001)
    with pytest.raises(SlackObjectFormationError, match="title"):
        confirm_dialog("t" * 101, "sure?", "Delete", "Keep")
    with pytest.raises(SlackObjectFormationError, match="elements"):
        actions("b", *[button(str(n), f"a{n}", "v") for n in range(26)])
    with pytest.raises(SlackObjectFormationError, match="columns"):
        table([[str(n) for n in range(21)]])


# -- tables


def test_a_table_block_has_its_rows_as_raw_text_and_its_right_aligned_columns() -> None:
    (block,) = table([("env", "running"), ("shop", "2"), ("", "0")], {1})
    assert block["type"] == "table"
    assert block["rows"][1] == [{"type": "raw_text", "text": "shop"}, {"type": "raw_text", "text": "2"}]
    assert block["rows"][2][0] == {"type": "raw_text", "text": " "}  # Slack refuses an empty cell
    assert block["column_settings"] == [{"align": "left"}, {"align": "right"}]


def test_over_a_hundred_rows_the_table_is_monospace_with_every_row() -> None:
    rows = [("#", "instance")] + [(str(n), f"i-{n:04d}") for n in range(1, 101)]
    blocks = table(rows, {0})
    assert all(b["type"] == "section" for b in blocks)
    assert as_text(Reply("", blocks=blocks)).splitlines() == aligned(rows, {0})
    assert table(rows[:100], {0})[0]["type"] == "table"


def test_a_styled_cell_is_rich_text_and_reads_with_its_mark() -> None:
    (block,) = table([("team", "change"), ("blue", Cell("+3", bold=True, emoji="large_green_circle"))])
    cell = block["rows"][1][1]
    assert cell["type"] == "rich_text"
    (emoji, text) = cell["elements"][0]["elements"]
    assert emoji == {"type": "emoji", "name": "large_green_circle"}
    assert text["style"] == {"bold": True} and text["text"].strip() == "+3"
    assert as_text(Reply("", blocks=[block])).splitlines()[1] == "blue  :large_green_circle: +3"


# -- a whole message


def test_a_message_that_fits_is_left_as_it_is() -> None:
    blocks = [header("h"), *table([("a", "b"), ("1", "2")]), section("s"), actions("b", button("OK", "ok", "v"))]
    assert fit_blocks(blocks) == blocks


def test_only_the_first_table_stays_a_table() -> None:
    first, second = table([("a",), ("1",)]), table([("region", "used"), ("eu-west-1", "3 MiB")])
    fitted = fit_blocks([*first, section("more"), *second])
    assert [b["type"] for b in fitted] == ["table", "section", "section"]
    assert fitted[2]["text"]["text"] == "```region     used\neu-west-1  3 MiB```"


def test_blocks_are_cut_to_the_json_budget_with_a_note_saying_how_many() -> None:
    blocks = [section(f"{n} " + "x" * 1000) for n in range(30)]
    fitted = fit_blocks(blocks)
    assert len(json.dumps(fitted)) <= MAX_BLOCKS_JSON
    kept = len(fitted) - 1
    assert 5 < kept < 12 and fitted[:kept] == blocks[:kept]
    assert fitted[-1]["elements"][0]["text"] == f"_Output shortened: {30 - kept} more blocks not shown._"


def test_a_table_too_big_for_the_budget_becomes_monospace_before_anything_is_cut() -> None:
    rows = [("#", "instance", "public ip")] + [(str(n), f"i-{n:017x}", f"203.0.113.{n}") for n in range(1, 100)]
    blocks = [header("shop-prod"), *table(rows), context("hint")]
    assert len(json.dumps(blocks)) > MAX_BLOCKS_JSON
    fitted = fit_blocks(blocks)
    assert [b["type"] for b in fitted] == ["header", "section", "section", "context"]
    assert as_text(Reply("", blocks=fitted)).splitlines()[2:-1] == aligned(rows)
    assert len(json.dumps(fitted)) <= MAX_BLOCKS_JSON


def test_the_buttons_survive_a_cut() -> None:
    buttons = actions("plan", button("Delete", "delete", "p1", "danger"), button("Cancel", "cancel", "p1"))
    fitted = fit_blocks([*(section(str(n)) for n in range(60)), buttons])
    assert len(fitted) == MAX_BLOCKS
    assert fitted[-2]["elements"][0]["text"] == "_Output shortened: 12 more blocks not shown._"
    assert fitted[-1] == buttons
    long = fit_blocks([*(section(f"{n} " + "x" * 2000) for n in range(10)), buttons])
    assert long[-1] == buttons and len(json.dumps(long)) <= MAX_BLOCKS_JSON


def test_a_text_over_slacks_limit_is_cut_at_a_line_and_says_how_much() -> None:
    lines = [f"{n:6d}  i-{n:017x}" for n in range(3000)]
    text = "\n".join(lines)
    fitted = fit_text(text)
    assert len(fitted) <= MAX_MESSAGE_TEXT
    kept, note = fitted.rsplit("\n", 1)
    assert kept.splitlines() == lines[: len(kept.splitlines())]
    assert note == f"… {len(text) - len(kept):,} more characters not shown."
    assert fit_text("short") == "short"
