"""Block Kit, built with slack_sdk's models within Slack's limits, and read back as text for a terminal.

The builders return plain dicts (`to_dict()`): slack_sdk checks a block's limits only in `to_dict()`,
so converting here makes a breach fail where the block is built, while Reply, delivery, the terminal
and the demo transcript keep reading Slack's own JSON.

Text that comes from users or AWS is clipped with "…" before it reaches a model. What the code itself
chooses (action ids, button values, dialog labels, column counts) is not: a breach there is a
programming error and raises SlackObjectFormationError, so a test finds it rather than a user.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    RawTextObject,
    RichTextBlock,
    RichTextElementParts,
    RichTextSectionElement,
    SectionBlock,
    TableBlock,
    TableBlockColumnSettings,
)

from bot.reply import Reply

# Slack's limits (https://docs.slack.dev/reference/block-kit/blocks). slack_sdk checks the ones it
# names; it does not check a table's rows or columns, nor anything about a whole message.
MAX_BLOCKS = 50
MAX_SECTION_TEXT = SectionBlock.text_max_length
MAX_HEADER_TEXT = HeaderBlock.text_max_length
MAX_TABLE_ROWS = 100
MAX_TABLE_COLUMNS = 20
# Slack refuses messages well before the documented limits add up (around 13k characters of blocks).
MAX_BLOCKS_JSON = 12_000
# Slack truncates a message's text beyond 40,000 characters; the margin leaves room for the note.
MAX_MESSAGE_TEXT = 39_000


def section(text: str) -> dict[str, Any]:
    return SectionBlock(text=MarkdownTextObject(text=_clip(text, MAX_SECTION_TEXT))).to_dict()


def header(text: str) -> dict[str, Any]:
    return HeaderBlock(text=PlainTextObject(text=_clip(text, MAX_HEADER_TEXT))).to_dict()


def context(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=_clip(text, MAX_SECTION_TEXT))]).to_dict()


def code_sections(lines: list[str]) -> list[dict[str, Any]]:
    """Monospace sections, split at line boundaries so none exceeds Slack's 3,000 characters."""
    blocks: list[dict[str, Any]] = []
    chunk: list[str] = []
    size = 0
    budget = MAX_SECTION_TEXT - len("``````") - 1
    for line in lines:
        line = _clip(line, budget)
        if chunk and size + len(line) + 1 > budget:
            blocks.append(section("```" + "\n".join(chunk) + "```"))
            chunk, size = [], 0
        chunk.append(line)
        size += len(line) + 1
    if chunk:
        blocks.append(section("```" + "\n".join(chunk) + "```"))
    return blocks


@dataclass(frozen=True)
class Cell:
    """A table cell with a style (a plain str is a plain cell). Rich text has no colours: a green or red
    mark is an emoji in front, e.g. Cell("+3", emoji="large_green_circle")."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    emoji: str = ""

    @property
    def plain(self) -> str:
        return f":{self.emoji}: {self.text}" if self.emoji else self.text


def table(rows: Sequence[Sequence[str | Cell]], right: Collection[int] = ()) -> list[dict[str, Any]]:
    """One table block, the first row its heading; beyond Slack's 100 rows, monospace sections instead.

    Columns in `right` are right-aligned. `aligned(rows, right)` gives the same table as text lines, for
    the message's text. A message holds one table: `fit_blocks` turns any further ones into sections.
    """
    width = len(rows[0])
    if width > MAX_TABLE_COLUMNS or any(len(row) != width for row in rows):
        raise SlackObjectFormationError(f"a table has 1 to {MAX_TABLE_COLUMNS} columns, the same in every row")
    if len(rows) > MAX_TABLE_ROWS:
        return code_sections(aligned(rows, right))
    settings = [TableBlockColumnSettings(align="right" if i in right else "left") for i in range(width)]
    return [
        TableBlock(
            rows=[[_cell(c) for c in row] for row in rows], column_settings=settings if right else None
        ).to_dict()
    ]


def _cell(cell: str | Cell) -> RawTextObject | RichTextBlock:
    if isinstance(cell, str):
        return RawTextObject(text=cell or " ")  # Slack refuses an empty cell
    style = RichTextElementParts.TextStyle(bold=cell.bold or None, italic=cell.italic or None, code=cell.code or None)
    parts: list[Any] = [RichTextElementParts.Emoji(name=cell.emoji)] if cell.emoji else []
    parts.append(RichTextElementParts.Text(text=f" {cell.text}" if cell.emoji else cell.text or " ", style=style))
    return RichTextBlock(elements=[RichTextSectionElement(elements=parts)])


def aligned(rows: Sequence[Sequence[str | Cell]], right: Collection[int] = ()) -> list[str]:
    """A table as monospace lines, columns padded to their widest cell."""
    texts = [[c.plain if isinstance(c, Cell) else c for c in row] for row in rows]
    widths = [max(len(row[i]) for row in texts) for i in range(len(texts[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in texts
    ]


def button(
    text: str, action_id: str, value: str, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    label = PlainTextObject(text=_clip(text, ButtonElement.text_max_length))
    return ButtonElement(text=label, action_id=action_id, value=value, style=style, confirm=confirm).to_dict()


def confirm_dialog(title: str, text: str, confirm: str, deny: str, style: str | None = None) -> dict[str, Any]:
    """The dialog a button asks before acting; only `text` may carry data (and is clipped)."""
    return ConfirmObject(
        title=PlainTextObject(text=title),
        text=MarkdownTextObject(text=_clip(text, ConfirmObject.text_max_length)),
        confirm=PlainTextObject(text=confirm),
        deny=PlainTextObject(text=deny),
        style=style,
    ).to_dict()


def actions(block_id: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return ActionsBlock(block_id=block_id, elements=list(elements)).to_dict()


def fit_blocks(blocks: list[dict[str, Any]], note: str = "Output shortened") -> list[dict[str, Any]]:
    """A message's blocks as Slack takes them: at most 50, at most MAX_BLOCKS_JSON characters of JSON, one table.

    Order is kept. A table after the first, or one too big for the room left, becomes monospace sections.
    Blocks are kept until one does not fit; it and all after it are left out, and a context block says
    how many ("{note}: N more blocks not shown."). Trailing actions blocks (the message's buttons) are
    always kept, after that note: they are what the message is for. Blocks that fit come back unchanged.
    """
    end = len(blocks)
    while end and blocks[end - 1].get("type") == "actions":
        end -= 1
    tail = blocks[end:]
    queue: list[dict[str, Any]] = []
    for block in blocks[:end]:
        later_table = block.get("type") == "table" and any(b.get("type") == "table" for b in queue)
        queue.extend(_table_as_code(block) if later_table else [block])
    if len(queue) + len(tail) <= MAX_BLOCKS and _size(queue + tail) <= MAX_BLOCKS_JSON:
        return queue + tail
    room = MAX_BLOCKS - len(tail) - 1
    budget = MAX_BLOCKS_JSON - _size(tail) - _size([context(f"_{note}: {len(queue):,} more blocks not shown._")])
    kept: list[dict[str, Any]] = []
    used, i = 0, 0
    while i < len(queue):
        size = _size([queue[i]]) + 2  # the ", " between blocks
        if len(kept) < room and used + size <= budget:
            kept.append(queue[i])
            used, i = used + size, i + 1
        elif queue[i].get("type") == "table":
            queue[i : i + 1] = _table_as_code(queue[i])
        else:
            break
    if i == len(queue):
        return kept + tail
    return [*kept, context(f"_{note}: {len(queue) - i:,} more blocks not shown._"), *tail]


def fit_text(text: str) -> str:
    """A message's text within Slack's limit: a longer one is cut at a line end and says how much is left out."""
    if len(text) <= MAX_MESSAGE_TEXT:
        return text
    cut = text.rfind("\n", 0, MAX_MESSAGE_TEXT - 100)
    cut = cut if cut > 0 else MAX_MESSAGE_TEXT - 100
    return f"{text[:cut]}\n… {len(text) - cut:,} more characters not shown."


def _size(blocks: list[dict[str, Any]]) -> int:
    return len(json.dumps(blocks))


def _table_as_code(block: dict[str, Any]) -> list[dict[str, Any]]:
    return code_sections(_table_lines(block))


def _table_lines(block: dict[str, Any]) -> list[str]:
    return aligned(*table_cells(block))


def table_cells(block: dict[str, Any]) -> tuple[list[list[str]], set[int]]:
    """A table (or data_table) block's cells as text (an emoji as :name:), and which columns are
    right-aligned (a data_table's numbers, as Slack sets them)."""
    settings = block.get("column_settings") or []
    right = {i for i, s in enumerate(settings) if s and s.get("align") == "right"}
    if block.get("type") == "data_table" and block.get("rows"):
        right = {i for i, cell in enumerate(block["rows"][-1]) if cell.get("type") == "raw_number"}
    return [[_cell_text(cell) for cell in row] for row in block["rows"]], right


def _cell_text(cell: dict[str, Any]) -> str:
    if cell.get("type") == "rich_text":
        parts = [p for section in cell.get("elements", []) for p in section.get("elements", [])]
        return "".join(f":{p['name']}:" if p.get("type") == "emoji" else p.get("text", "") for p in parts).strip()
    return str(cell.get("text", "")).strip()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in the blocks, in order."""
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def as_text(reply: Reply) -> str:
    """What Slack shows, as plain text for a terminal: the blocks (and those of the attachments)
    when there are any, else the text."""
    blocks = [*reply.blocks, *(b for attachment in reply.attachments for b in attachment.get("blocks", ()))]
    if not blocks:
        return _unescape(reply.text)
    return "\n".join(filter(None, (_block_text(block) for block in blocks)))


def _block_text(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        title = block["text"]["text"]
        return f"{title}\n{'=' * len(title)}"
    if kind == "section":
        parts = [block.get("text", {}).get("text", "")]
        parts += [f.get("text", "") for f in block.get("fields", [])]
        return _unescape("\n".join(p for p in parts if p).replace("```", ""))
    if kind == "context":
        return _unescape("  ".join(e.get("text", "") for e in block.get("elements", [])))
    if kind in ("table", "data_table"):
        return "\n".join(_table_lines(block))
    if kind == "data_visualization":
        return f"[chart: {block.get('title', '')}]"
    if kind == "actions":
        return "  ".join(f"[ {e.get('text', {}).get('text', '')} ]" for e in block.get("elements", []))
    if kind == "divider":
        return "-" * 40
    return ""


def _unescape(text: str) -> str:
    """Slack's three escapes (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
