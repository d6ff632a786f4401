"""Block Kit, built with slack_sdk's models within Slack's limits, and read back as text for a terminal.

The builders return plain dicts (`to_dict()`): slack_sdk checks a block's limits only in `to_dict()`,
so converting here makes a breach fail where the block is built, while Reply, delivery, the terminal
and the demo transcript keep reading Slack's own JSON.

Every text a builder takes is `Mrkdwn` (bot.text); anything else is escaped here, so a forgotten
escape shows `&lt;!channel&gt;` rather than pinging. Plain-text objects (headers, button labels) are
escaped too: Slack does not say that they never parse `<!…>`, so they are treated as mrkdwn. Code
blocks are made only here (`code_sections`, a table as monospace) through `bot.text.fenced`.

Text is clipped with "…" before it reaches a model. What the code itself chooses (action ids,
button values, column counts) is not: a breach there is a programming error and raises
SlackObjectFormationError, so a test finds it rather than a user.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
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

from bot.reply import Block, Reply, safe_blocks
from bot.text import Mrkdwn, clip, fenced, unescape

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
SHORTENED = Mrkdwn("Output shortened")


def section(text: Mrkdwn) -> dict[str, Any]:
    return Block(SectionBlock(text=MarkdownTextObject(text=_clip(text, MAX_SECTION_TEXT))).to_dict())


def header(text: Mrkdwn) -> dict[str, Any]:
    return Block(HeaderBlock(text=PlainTextObject(text=_clip(text, MAX_HEADER_TEXT))).to_dict())


def context(text: Mrkdwn) -> dict[str, Any]:
    return Block(ContextBlock(elements=[MarkdownTextObject(text=_clip(text, MAX_SECTION_TEXT))]).to_dict())


def code_sections(lines: Sequence[Mrkdwn]) -> list[dict[str, Any]]:
    """Monospace sections, split at line boundaries so none exceeds Slack's 3,000 characters.
    Room is left for the zero-width spaces `fenced` may add between backticks."""
    blocks: list[dict[str, Any]] = []
    chunk: list[Mrkdwn] = []
    size = 0
    budget = MAX_SECTION_TEXT - len("``````") - 1
    for raw in lines:
        line = Mrkdwn.escape(raw)
        line = _clip(line, max(budget // 2, budget - line.count("`") - 1))
        room = len(line) + line.count("`") + 1  # `fenced` may put a zero-width space after each backtick
        if chunk and size + room > budget:
            blocks.append(section(fenced(chunk)))
            chunk, size = [], 0
        chunk.append(line)
        size += room
    if chunk:
        blocks.append(section(fenced(chunk)))
    return blocks


@dataclass(frozen=True)
class Cell:
    """A table cell with a style (a plain str is a plain cell). Rich text has no colours: a green or red
    mark is an emoji in front, e.g. Cell("+3", emoji="large_green_circle")."""

    text: Mrkdwn
    bold: bool = False
    italic: bool = False
    code: bool = False
    emoji: str = ""

    @property
    def plain(self) -> Mrkdwn:
        return Mrkdwn(f":{self.emoji}: ") + self.text if self.emoji else Mrkdwn.escape(self.text)


Row = Sequence[Mrkdwn | Cell]


def table(rows: Sequence[Row], right: Collection[int] = ()) -> list[dict[str, Any]]:
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
        Block(
            TableBlock(
                rows=[[_cell(c) for c in row] for row in rows], column_settings=settings if right else None
            ).to_dict()
        )
    ]


def _cell(cell: Mrkdwn | Cell) -> RawTextObject | RichTextBlock:
    if not isinstance(cell, Cell):
        return RawTextObject(text=Mrkdwn.escape(cell) or " ")  # Slack refuses an empty cell
    style = RichTextElementParts.TextStyle(bold=cell.bold or None, italic=cell.italic or None, code=cell.code or None)
    parts: list[Any] = [RichTextElementParts.Emoji(name=cell.emoji)] if cell.emoji else []
    text = Mrkdwn.escape(cell.text)
    parts.append(RichTextElementParts.Text(text=f" {text}" if cell.emoji else text or " ", style=style))
    return RichTextBlock(elements=[RichTextSectionElement(elements=parts)])


def aligned(rows: Sequence[Row], right: Collection[int] = ()) -> list[Mrkdwn]:
    """A table as monospace lines, columns padded to their widest cell as a reader sees it
    (`&lt;` is one character wide)."""
    texts = [[c.plain if isinstance(c, Cell) else Mrkdwn.escape(c) for c in row] for row in rows]
    widths = [max(_width(row[i]) for row in texts) for i in range(len(texts[0]))]
    return [
        Mrkdwn(
            "  ".join(_pad(cell, w, i in right) for i, (cell, w) in enumerate(zip(row, widths, strict=True))).rstrip()
        )
        for row in texts
    ]


def _width(cell: Mrkdwn) -> int:
    return len(unescape(cell))


def _pad(cell: Mrkdwn, width: int, right: bool) -> str:
    room = " " * (width - _width(cell))
    return room + cell if right else cell + room


def button(
    text: Mrkdwn, action_id: str, value: str, style: str | None = None, confirm: dict[str, Any] | None = None
) -> dict[str, Any]:
    label = PlainTextObject(text=_clip(text, ButtonElement.text_max_length))
    return ButtonElement(text=label, action_id=action_id, value=value, style=style, confirm=confirm).to_dict()


def confirm_dialog(
    title: Mrkdwn, text: Mrkdwn, confirm: Mrkdwn, deny: Mrkdwn, style: str | None = None
) -> dict[str, Any]:
    """The dialog a button asks before acting; only `text` may carry data (and is clipped)."""
    return ConfirmObject(
        title=PlainTextObject(text=Mrkdwn.escape(title)),
        text=MarkdownTextObject(text=_clip(text, ConfirmObject.text_max_length)),
        confirm=PlainTextObject(text=Mrkdwn.escape(confirm)),
        deny=PlainTextObject(text=Mrkdwn.escape(deny)),
        style=style,
    ).to_dict()


def actions(block_id: str, *elements: dict[str, Any]) -> dict[str, Any]:
    return Block(ActionsBlock(block_id=block_id, elements=list(elements)).to_dict())


def fit_blocks(blocks: list[dict[str, Any]], note: Mrkdwn = SHORTENED) -> list[dict[str, Any]]:
    """A message's blocks as Slack takes them: at most 50, at most MAX_BLOCKS_JSON characters of JSON, one table.

    Order is kept. A table after the first, or one too big for the room left, becomes monospace sections.
    Blocks are kept until one does not fit; it and all after it are left out, and a context block says
    how many ("{note}: N more blocks not shown."). Trailing actions blocks (the message's buttons) are
    always kept, after that note: they are what the message is for. Blocks that fit come back unchanged.
    """
    blocks = safe_blocks(blocks)
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
    budget = MAX_BLOCKS_JSON - _size(tail) - _size([_left_out(note, len(queue))])
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
    return [*kept, _left_out(note, len(queue) - i), *tail]


def _left_out(note: Mrkdwn, count: int) -> dict[str, Any]:
    return context(Mrkdwn("_{}: {:,} more blocks not shown._").format(Mrkdwn.escape(note), count))


def fit_text(text: Mrkdwn) -> Mrkdwn:
    """A message's text within Slack's limit: a longer one is cut at a line end and says how much is left out."""
    text = Mrkdwn.escape(text)
    if len(text) <= MAX_MESSAGE_TEXT:
        return text
    cut = text.rfind("\n", 0, MAX_MESSAGE_TEXT - 100)
    kept = Mrkdwn(text[:cut]) if cut > 0 else clip(text, MAX_MESSAGE_TEXT - 100)
    left = len(text) - len(kept)
    if len(re.findall("```", kept)) % 2:  # cut inside a code block: close it, or the note is code too
        kept += Mrkdwn("```")
    return kept + Mrkdwn("\n… {:,} more characters not shown.").format(left)


def _size(blocks: list[dict[str, Any]]) -> int:
    return len(json.dumps(blocks))


def _table_as_code(block: dict[str, Any]) -> list[dict[str, Any]]:
    return code_sections(_table_lines(block))


def _table_lines(block: dict[str, Any]) -> list[Mrkdwn]:
    return aligned(*table_cells(block))


def table_cells(block: dict[str, Any]) -> tuple[list[list[Mrkdwn]], set[int]]:
    """A table (or data_table) block's cells as text (an emoji as :name:), and which columns are
    right-aligned (a data_table's numbers, as Slack sets them). The cells are `Mrkdwn`: the block was
    built here (or escaped by `safe_blocks`), so they are escaped."""
    settings = block.get("column_settings") or []
    right = {i for i, s in enumerate(settings) if s and s.get("align") == "right"}
    if block.get("type") == "data_table" and block.get("rows"):
        right = {i for i, cell in enumerate(block["rows"][-1]) if cell.get("type") == "raw_number"}
    return [[_cell_text(cell) for cell in row] for row in block["rows"]], right


def _cell_text(cell: dict[str, Any]) -> Mrkdwn:
    if cell.get("type") == "rich_text":
        parts = [p for section in cell.get("elements", []) for p in section.get("elements", [])]
        text = "".join(f":{p['name']}:" if p.get("type") == "emoji" else p.get("text", "") for p in parts)
        return Mrkdwn(text.strip())
    return Mrkdwn(str(cell.get("text", "")).strip())


def _clip(text: Mrkdwn, limit: int) -> Mrkdwn:
    return clip(Mrkdwn.escape(text), limit)


def buttons(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every button in the blocks, in order."""
    return [
        element
        for block in blocks
        if block.get("type") == "actions"
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


def as_text(reply: Reply, shown: Callable[[str], str] = unescape) -> str:
    """What Slack shows, as plain text for a terminal: the blocks (and those of the attachments)
    when there are any, else the text. `shown` turns each piece of mrkdwn into what a reader sees:
    it gets the text still escaped, so markup the code made (a mention) and text from outside that
    only looks like it (`&lt;!channel&gt;`) can be told apart."""
    return payload_text(reply.text, reply.blocks, reply.attachments, shown)


def payload_text(
    text: str,
    blocks: Sequence[dict[str, Any]],
    attachments: Sequence[dict[str, Any]] = (),
    shown: Callable[[str], str] = unescape,
) -> str:
    """`as_text` of a message as Slack received it (the demo reads the stand-in's payloads)."""
    every = [*blocks, *(b for attachment in attachments for b in attachment.get("blocks", ()))]
    if not every:
        return shown(text)
    return "\n".join(filter(None, (_block_text(block, shown) for block in every)))


def _block_text(block: dict[str, Any], unescape: Callable[[str], str]) -> str:
    kind = block.get("type")
    if kind == "header":
        title = unescape(block["text"]["text"])
        return f"{title}\n{'=' * len(title)}"
    if kind == "section":
        parts = [block.get("text", {}).get("text", "")]
        parts += [f.get("text", "") for f in block.get("fields", [])]
        return unescape("\n".join(p for p in parts if p).replace("```", ""))
    if kind == "context":
        return unescape("  ".join(e.get("text", "") for e in block.get("elements", [])))
    if kind in ("table", "data_table"):
        return unescape("\n".join(_table_lines(block)))
    if kind == "data_visualization":
        return unescape(f"[chart: {block.get('title', '')}]")
    if kind == "actions":
        return unescape("  ".join(f"[ {e.get('text', {}).get('text', '')} ]" for e in block.get("elements", [])))
    if kind == "divider":
        return "-" * 40
    return ""
