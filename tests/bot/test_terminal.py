"""Replies in a terminal: Slack's markup rendered, nothing from outside can steer the terminal,
progress on one line that is rewritten in place (plain lines when piped). Pure, no terminal needed."""

from __future__ import annotations

import io
import time

import pytest

from bot.terminal import ProgressLine, for_terminal, without_controls


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("a\x1b]0;pwned title\x07b", "ab"),  # OSC: sets the window title
        ("\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),  # OSC 8: a hidden link
        ("red \x1b[31mALERT\x1b[0m done", "red ALERT done"),  # CSI colours
        ("\x1b[2J\x1b[Hcleared", "cleared"),  # clear the screen, home the cursor
        ("bell\x07 nul\x00 bs\x08 del\x7f c1\x9b", "bell nul bs del c1"),
        ("fake\rover", "fakeover"),  # a carriage return would overprint what came before
        ("\u202eevil\u202c", "evil"),  # bidi override
        ("tab\tand\nnewline", "tab\tand\nnewline"),
        ("\x1b", ""),
    ],
)
def test_control_characters_and_sequences_are_stripped(text: str, clean: str) -> None:
    assert without_controls(text) == clean


def _seconds(text: str) -> float:
    """The best of three: a busy machine only ever adds time."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        for_terminal(text, bold=True)
        best = min(best, time.perf_counter() - started)
    return best


@pytest.mark.parametrize("unit", ["\x1b]", "\x1b[0", "*a", "_a", "<@", ":a", "\x1b]" + "x" * 50])
def test_rendering_is_linear_in_the_input(unit: str) -> None:
    # Unterminated sequences over and over: a backtracking pattern is quadratic here (100x for 10x input).
    small, large = _seconds(unit * 5_000), _seconds(unit * 50_000)
    assert large < 30 * small + 0.05


@pytest.mark.parametrize(
    ("mrkdwn", "plain"),
    [
        ("*Lambda code storage* in eu-west-1", "Lambda code storage in eu-west-1"),
        (
            ":red_circle: ERROR :large_green_circle: ok :warning: :white_circle: :white_check_mark:",
            "🔴 ERROR 🟢 ok ⚠️ ⚪ ✅",
        ),
        ("arn:aws:lambda:us-east-1:123456789012:function:f", "arn:aws:lambda:us-east-1:123456789012:function:f"),
        (":no_such_code:", ":no_such_code:"),
        ("approved by <@cli>, asked by <@U0JANE|jane> and <@U0BOB>", "approved by @you, asked by @jane and @U0BOB"),
        (
            "see <https://x.example/a|the docs> or <https://x.example/b>",
            "see the docs (https://x.example/a) or https://x.example/b",
        ),
        ("<!here> in <#C0123|ops>", "@here in #ops"),
        ("2*3*4 and a_b_c", "2*3*4 and a_b_c"),
        ("_Quota unknown: not on moto._", "Quota unknown: not on moto."),
    ],
)
def test_slack_markup_reads_as_plain_text_when_piped(mrkdwn: str, plain: str) -> None:
    assert for_terminal(mrkdwn, bold=False, names={"cli": "you"}) == plain


def test_bold_is_bold_on_a_terminal_and_added_after_stripping() -> None:
    assert for_terminal("*done* \x1b[1mfake", bold=True) == "\x1b[1mdone\x1b[22m fake"


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_one_line_rewritten_in_place_on_a_terminal() -> None:
    stream = _Tty()
    progress = ProgressLine(stream)
    for n in range(70):
        progress(f"eu-west-1: Scanned *{n}* versions…")
    progress.clear()
    written = stream.getvalue()
    assert "\n" not in written
    assert written.count("\r\x1b[K") == 71 and written.endswith("\r\x1b[K")
    assert "Scanned 69 versions…" in written


def test_progress_is_plain_lines_when_piped() -> None:
    stream = io.StringIO()
    progress = ProgressLine(stream)
    progress("one \x1b]0;t\x07")
    progress("two")
    progress.clear()
    assert stream.getvalue() == "one \ntwo\n"
