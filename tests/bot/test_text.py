"""Echoing what a user typed: quoted when it cannot format, mention or link in Slack; described otherwise."""

from __future__ import annotations

import pytest

from bot.text import Mrkdwn, clip, escape_mrkdwn, fenced, shown, unescape, user_mention


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


# -- Mrkdwn: text that may go to Slack, made by escaping or from the code's own literals


def test_escape_makes_outside_text_inert_and_is_idempotent() -> None:
    escaped = Mrkdwn.escape("<!channel> & <@U123> ```x```")
    assert escaped == "&lt;!channel&gt; &amp; &lt;@U123&gt; `\u200b`\u200b`x`\u200b`\u200b`"
    assert Mrkdwn.escape(escaped) is escaped
    assert escape_mrkdwn("<b>") == "&lt;b&gt;" and isinstance(escape_mrkdwn("x"), Mrkdwn)


def test_a_literal_is_trusted_and_whatever_is_mixed_into_it_is_escaped() -> None:
    mention = user_mention("UADMIN1")
    assert mention == "<@UADMIN1>" and user_mention("<!here>") == "&lt;!here&gt;"
    assert Mrkdwn("*{}* by {}").format("<!here>", mention) == "*&lt;!here&gt;* by <@UADMIN1>"
    assert Mrkdwn("a ") + "<!here>" == "a &lt;!here&gt;" and "<x>" + Mrkdwn(" b") == "&lt;x&gt; b"
    assert Mrkdwn(", ").join(["<a>", mention]) == "&lt;a&gt;, <@UADMIN1>"
    assert Mrkdwn("%s: %d") % ("<a>", 3) == "&lt;a&gt;: 3"
    assert Mrkdwn("{:>6}|{:,}").format("<", 12345) == "     &lt;|12,345"  # the spec applies before escaping
    assert all(isinstance(m, Mrkdwn) for m in (Mrkdwn("a") + "b", Mrkdwn("{}").format(1), Mrkdwn("").join([])))


@pytest.mark.parametrize("template", ["`{}`", "``{}", "{}``", "`{}{}`"])
def test_outside_backticks_never_join_the_templates_into_a_fence(template: str) -> None:
    made = Mrkdwn(template).format(*["`"] * template.count("{}"))
    assert "```" not in made
    assert "``" not in Mrkdwn("`") + "`" and "``" not in "`" + Mrkdwn("`")
    assert "``" not in Mrkdwn("`%s`") % "`"


def test_fenced_lines_cannot_close_their_block_even_when_the_code_wrote_them() -> None:
    block = fenced(["```<!here>", Mrkdwn("`` trusted"), "end`"])
    assert block.startswith("```") and block.endswith("```")
    assert block.count("```") == 2 and "&lt;!here&gt;" in block


def test_unescape_gives_the_terminal_what_a_reader_sees() -> None:
    assert unescape(Mrkdwn.escape("<!channel> ```x``` &amp;")) == "<!channel> ```x``` &amp;"


def test_clip_never_cuts_an_escape_or_a_mention_in_half() -> None:
    assert clip(Mrkdwn("abc &amp; def"), 7) == "abc …"
    assert clip(Mrkdwn("hi <@U123> x"), 8) == "hi …"
    assert clip(Mrkdwn("short"), 8) == "short"
