"""The demo transcript as one HTML page, laid out like a Slack channel, with images beside it."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.slack.blocks import table_cells
from bot.text import unescape

if TYPE_CHECKING:
    from bot.local.demo import Entry

_STYLE = """
body { font: 15px/1.45 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; max-width: 960px;
       margin: 2em auto; color: #1d1c1d; }
.note { margin: 2em 0 .5em; font-weight: 600; color: #555; border-bottom: 1px solid #ddd; }
.msg { margin: .8em 0; } .who { font-weight: 700; } .ack { color: #888; font-size: 12px; }
.reply { margin: .4em 0 .4em 1.5em; padding: .4em .8em; border-left: 4px solid #36c5f0; }
.ephemeral { border-color: #ccc; background: #f8f8f8; } .http { border-color: #2eb67d; }
.tag { color: #888; font-size: 12px; } pre { background: #f4f4f4; padding: .5em; overflow-x: auto; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 2px 10px; margin: 2px; }
.danger { color: #e01e5a; border-color: #e01e5a; } .primary { background: #007a5a; color: #fff; }
table { border-collapse: collapse; margin: .3em 0; } td { border: 1px solid #ddd; padding: 2px 8px; }
tr:first-child td { font-weight: 700; background: #f4f4f4; } .right { text-align: right; }
img { max-width: 100%; border: 1px solid #ddd; } .bar { padding-left: 8px; margin: .3em 0; }
"""


# The emoji codes the bot's replies use, as Slack draws them.
EMOJI = {
    ":large_green_circle:": "\U0001f7e2",
    ":red_circle:": "\U0001f534",
    ":white_circle:": "\u26aa",
    ":warning:": "\u26a0\ufe0f",
    ":white_check_mark:": "\u2705",
}
_EMOJI = re.compile("|".join(re.escape(code) for code in EMOJI))


def mrkdwn(text: str) -> str:
    """Enough of Slack's mrkdwn for the demo: code blocks, code, bold, italics, links, emoji codes.

    Read as Slack reads it: a link or mention is a real `<…>` (the code's own); escaped text
    (`&lt;!channel&gt;`) is shown as text, never made a link.
    """
    parts = re.split(r"```(.*?)```", text, flags=re.S)
    out = []
    for i, part in enumerate(parts):
        if i % 2:
            out.append(f"<pre>{html.escape(unescape(part).strip(chr(10)))}</pre>")
            continue
        pieces = _LIVE.split(part)  # text, then (url, label, user) of each live link or mention, ...
        for j in range(0, len(pieces), 4):
            out.append(_formatted(pieces[j]))
            if j + 3 < len(pieces):
                url, label, user = pieces[j + 1 : j + 4]
                if user:
                    out.append(f"<b>@{html.escape(user)}</b>")  # a mention, as Slack shows it
                else:
                    out.append(f'<a href="{html.escape(url)}">{html.escape(unescape(label))}</a>')
    return "".join(out)


_LIVE = re.compile(r"<(https?://[^|<>]+)\|([^<>]+)>|<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>")


def _formatted(text: str) -> str:
    s = _EMOJI.sub(lambda found: EMOJI[found[0]], html.escape(unescape(text)))
    s = re.sub(r"`([^`]+)`", r"<code>\1</code>", s)
    s = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", s)
    s = re.sub(r"(?<![\w_])_([^_\n]+)_(?![\w_])", r"<i>\1</i>", s)
    return s.replace("\n", "<br>")


def _block(block: dict[str, Any]) -> str:
    kind = block.get("type")
    if kind == "header":
        return f"<h3>{html.escape(unescape(block['text']['text']))}</h3>"
    if kind == "section":
        body = mrkdwn(block.get("text", {}).get("text", ""))
        fields = "".join(f"<div>{mrkdwn(f.get('text', ''))}</div>" for f in block.get("fields", []))
        return f"<div>{body}{fields}</div>"
    if kind == "context":
        return "<div class=tag>" + " ".join(mrkdwn(e.get("text", "")) for e in block.get("elements", [])) + "</div>"
    if kind == "actions":
        buttons = [
            f"<span class='button {e.get('style', '')}'>{_plain(e.get('text', {}).get('text', ''))}</span>"
            for e in block.get("elements", [])
        ]
        return "<div>" + "".join(buttons) + "</div>"
    if kind in ("table", "data_table"):
        rows, right = table_cells(block)
        caption = f"<caption class=tag>{html.escape(block['caption'])}</caption>" if block.get("caption") else ""
        return "<table>" + caption + "".join(_row(row, right) for row in rows) + "</table>"
    if kind == "data_visualization":
        return f"<div class=tag>[Slack's line chart: {html.escape(str(block.get('title', '')))}]</div>"
    if kind == "divider":
        return "<hr>"
    return ""


def _plain(text: str) -> str:
    return html.escape(unescape(text))


def _row(cells: Sequence[str], right: set[int]) -> str:
    """A table row; emoji codes in a cell drawn as Slack draws them (a rich_text cell's emoji)."""
    tds = (
        f"<td{' class=right' if i in right else ''}>{_EMOJI.sub(lambda f: EMOJI[f[0]], _plain(c))}</td>"
        for i, c in enumerate(cells)
    )
    return "<tr>" + "".join(tds) + "</tr>"


def _reply(reply: dict[str, Any]) -> str:
    kind = reply.get("response_type", "ephemeral")
    tags = {
        "ephemeral": "only visible to you",
        "http": "HTTP response",
        "in_channel": "",
        "thread": "in the thread",
        "home": "Home tab",
    }
    tag = tags.get(kind, kind)
    blocks = reply.get("blocks") or []
    if kind == "http":  # a raw response body, not mrkdwn
        body = f"<pre>{html.escape(str(reply.get('text', '')))}</pre>"
    else:
        body = "".join(_block(b) for b in blocks) if blocks else mrkdwn(str(reply.get("text", "")))
        for attachment in reply.get("attachments") or []:  # Slack's colour bar beside their blocks
            inner = "".join(_block(b) for b in attachment.get("blocks") or [])
            colour = html.escape(str(attachment.get("color", "#ddd")))
            body += f"<div class=bar style='border-left: 4px solid {colour}'>{inner}</div>"
    return f"<div class='reply {kind}'><div class=tag>{tag}</div>{body}</div>"


def write_html(transcript: list[Entry], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for n, entry in enumerate(transcript):
        if entry.note:
            rows.append(f"<div class=note>{html.escape(entry.note)}</div>")
            continue
        rows.append(
            f"<div class=msg><span class=who>{html.escape(entry.who)}</span> "
            f"<code>{html.escape(entry.said)}</code> <span class=ack>{html.escape(entry.ack)}</span>"
        )
        rows.extend(_reply(reply) for reply in entry.replies)
        for name, content in entry.files:
            safe = f"{n:02d}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)}"
            (out / safe).write_bytes(content)
            if safe.lower().endswith((".png", ".svg", ".jpg")):
                rows.append(f"<div class=reply><img src='{safe}' alt='{html.escape(name)}'></div>")
            else:
                rows.append(f"<div class=reply><a href='{safe}'>{html.escape(name)}</a></div>")
        rows.append("</div>")
    index = out / "index.html"
    index.write_text(
        "<!doctype html><meta charset=utf-8><title>opsbot demo</title>"
        f"<style>{_STYLE}</style><h1>opsbot demo</h1>" + "\n".join(rows),
        encoding="utf-8",
    )
    return index
