"""What a reply looks like in a terminal: Slack's markup rendered, and nothing that can steer the terminal.

Replies carry text from outside (log lines, remote output, AWS messages). In Slack it is escaped;
in a terminal an ESC, BEL or OSC sequence in it could retitle the window, plant a link (OSC 8),
or rewrite what was printed before. So control characters go first, before the rendering adds
the only escape sequences we trust (bold, the progress line's carriage return).
"""

from __future__ import annotations

import re
import shutil
from typing import TextIO

from bot.text import unescape

# ESC [ … final byte (CSI), ESC ] … BEL or ESC \ (OSC: titles, OSC 8 links), and any other ESC + one
# character: removed whole, so no half of a sequence is left to print as garbage.
_SEQUENCE = re.compile(r"\x1b\[[0-?]{0,64}[ -/]{0,8}[@-~]|\x1b\][^\x07\x1b]{0,4096}(?:\x07|\x1b\\)?|\x1b[^\[\]]")
# Every other C0 control but tab and newline, DEL, the C1 controls (0x9B is a one-byte CSI to some
# terminals), and the bidirectional overrides that make text display in another order than it reads.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

# The codes opsbot's replies use; any other stays as written.
EMOJI = {
    "large_green_circle": "🟢",
    "red_circle": "🔴",
    "white_circle": "⚪",
    "warning": "⚠️",
    "white_check_mark": "✅",
}
_EMOJI = re.compile(r":([a-z0-9_+-]{1,40}):")
_BOLD = re.compile(r"(?<![\w*])\*([^*\n]{1,500})\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_([^_\n]{1,500})_(?![\w_])")
# <@U123|jane>, <@U123>, <#C123|general>, <!here>, <https://x|label>, <https://x>
_ANGLED = re.compile(r"<([@#!]?)([^<>|\n]{1,500})(?:\|([^<>\n]{0,500}))?>")
_BOLD_ON, _BOLD_OFF, _ITALIC_ON, _ITALIC_OFF = "\x1b[1m", "\x1b[22m", "\x1b[3m", "\x1b[23m"


def without_controls(text: str) -> str:
    """The text with terminal escape sequences and control characters removed (newlines and tabs kept)."""
    return _CONTROL.sub("", _SEQUENCE.sub("", text))


def for_terminal(text: str, *, bold: bool, names: dict[str, str] | None = None) -> str:
    """Slack's markup as a terminal shows it: `*bold*` and `_italic_` styled (`bold`) or plain, emoji
    codes as characters, mentions as @names (`names`: user id -> name, where known), links as `label (url)`."""
    known = names or {}

    def angled(found: re.Match[str]) -> str:
        sigil, target, label = found[1], found[2], found[3]
        if sigil == "@":
            return f"@{label or known.get(target, target)}"
        if sigil == "#":
            return f"#{label or target}"
        if sigil == "!":
            return f"@{label or target.split('^')[0]}"
        return f"{label} ({target})" if label and label != target else target

    # `text` is Slack's mrkdwn, still escaped: only markup the code made is rendered; text from outside
    # that looks like markup (`&lt;!channel&gt;`) is unescaped last and shows as it was written.
    text = _ANGLED.sub(angled, without_controls(text))
    text = _EMOJI.sub(lambda found: EMOJI.get(found[1], found[0]), text)
    text = _ITALIC.sub(lambda found: f"{_ITALIC_ON}{found[1]}{_ITALIC_OFF}" if bold else found[1], text)
    return unescape(_BOLD.sub(lambda found: f"{_BOLD_ON}{found[1]}{_BOLD_OFF}" if bold else found[1], text))


class ProgressLine:
    """Progress on a terminal: one line rewritten in place; when piped, plain lines."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.in_place = stream.isatty()
        self.showing = False

    def __call__(self, text: str) -> None:
        line = for_terminal(text, bold=False).replace("\n", " ")
        if not self.in_place:
            print(line, file=self.stream, flush=True)
            return
        width = shutil.get_terminal_size().columns - 1  # a full line would wrap, and \r returns to its second half
        self.stream.write(f"\r\x1b[K{line[:width]}")
        self.stream.flush()
        self.showing = True

    def clear(self) -> None:
        """Take the line away before other output, so what follows starts on a clean line."""
        if self.showing:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.showing = False
