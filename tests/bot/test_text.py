"""Echoing what a user typed: quoted when it cannot format, mention or link in Slack; described otherwise."""

from __future__ import annotations

import pytest

from bot.text import shown


@pytest.mark.parametrize(
    ("word", "echo"),
    [
        ("eu-west-1", "`eu-west-1`"),
        ("a" * 60, f"`{'a' * 60}`"),
        ("a" * 61, "a 61-character word"),
        ("", "a 0-character word"),
        ("<!channel>", "a word with U+003C LESS-THAN SIGN"),
        ("<@U0123ABCD>", "a word with U+003C LESS-THAN SIGN"),
        ("<http://x|link>", "a word with U+003C LESS-THAN SIGN"),
        ("a&amp;b", "a word with U+0026 AMPERSAND"),
        ("`id`", "a word with U+0060 GRAVE ACCENT"),
        ("*bold*", "a word with U+002A ASTERISK"),
        ("_it_", "a word with U+005F LOW LINE"),
        ("~del~", "a word with U+007E TILDE"),
        ("\u00b2", "a word with U+00B2 SUPERSCRIPT TWO"),
        ("my-env\u202e", "a word with U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("x\x00", "a word with U+0000"),
    ],
)
def test_shows_a_word_quoted_only_when_it_cannot_format_or_mention(word: str, echo: str) -> None:
    assert shown(word) == echo


def test_a_description_can_start_a_sentence() -> None:
    assert shown("<!here>", first=True) == "A word with U+003C LESS-THAN SIGN"
    assert shown("a" * 300, first=True) == "A 300-character word"
    assert shown("ok", first=True) == "`ok`"
