"""Block Kit: building blocks within Slack's limits, and reading them back as text for a terminal."""

from __future__ import annotations

from typing import Any

from bot.reply import Reply

# Slack's hard limits (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_SECTION_TEXT)}}


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text, MAX_HEADER_TEXT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, MAX_SECTION_TEXT)}]}


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


def fit_blocks(blocks: list[dict[str, Any]], note: str = "Output shortened") -> list[dict[str, Any]]:
    """Keep at most Slack's 50 blocks, saying how much was left out."""
    if len(blocks) <= MAX_BLOCKS:
        return blocks
    kept = blocks[: MAX_BLOCKS - 1]
    return [*kept, context(f"_{note}: {len(blocks) - len(kept)} more blocks not shown._")]


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
    """What Slack shows, as plain text for a terminal: the blocks when there are any, else the text."""
    if not reply.blocks:
        return _unescape(reply.text)
    return "\n".join(filter(None, (_block_text(block) for block in reply.blocks)))


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
    if kind == "actions":
        return "  ".join(f"[ {e.get('text', {}).get('text', '')} ]" for e in block.get("elements", []))
    if kind == "divider":
        return "-" * 40
    return ""


def _unescape(text: str) -> str:
    """Slack's three escapes (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
