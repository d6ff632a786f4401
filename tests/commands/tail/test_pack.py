"""Packing at Slack's size limits: examples at the edges, and properties checked by hypothesis."""

from __future__ import annotations

import itertools
import time

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from commands.tail.pack import CONTINUED, FENCE, Chunk, chunk_lines, pack_lines


def original(chunks: list[Chunk]) -> str:
    """The input text back from the chunks: added fences dropped, split lines rejoined."""
    return "\n".join("\n".join(chunk.body) for chunk in chunks).replace(CONTINUED + "\n", "")


def test_lines_that_fit_stay_in_one_chunk_untouched() -> None:
    packed = pack_lines(["a", "b", "c"])
    assert packed.texts == ["a\nb\nc"] and packed.overflow == []


def test_nothing_in_nothing_out() -> None:
    assert pack_lines([]).chunks == []


def test_chunks_split_on_line_boundaries_at_exactly_the_budget() -> None:
    lines = ["x" * 9, "y" * 9, "z" * 9]  # two lines and their newline are 19 characters
    assert [c.text for c in chunk_lines(lines, budget=19)] == ["x" * 9 + "\n" + "y" * 9, "z" * 9]
    assert [c.text for c in chunk_lines(lines, budget=18)] == ["x" * 9, "y" * 9, "z" * 9]


def test_a_fence_open_at_a_split_is_closed_and_reopened() -> None:
    lines = [FENCE, "line one", "line two", "line three", FENCE]
    chunks = chunk_lines(lines, budget=25)

    assert [c.text for c in chunks] == ["```\nline one\nline two\n```", "```\nline three\n```"]


def test_a_line_longer_than_the_budget_is_split_hard_and_marked() -> None:
    chunks = chunk_lines(["a" * 30], budget=12)

    assert [c.text for c in chunks] == ["a" * 11 + CONTINUED, "a" * 11 + CONTINUED, "a" * 8]
    assert original(chunks) == "a" * 30


def test_a_hard_split_never_cuts_a_fence_in_two() -> None:
    # Cut at 11 characters, the naive split would leave "``" and "````": one fence where the
    # line has an empty code block (two fences), and the rest of the message would turn to code.
    line = "x" * 9 + "`" * 6 + "y" * 9

    chunks = chunk_lines([line], budget=12)

    assert [c.text for c in chunks] == ["x" * 9 + CONTINUED, "``````" + "y" * 5 + CONTINUED, "y" * 4]
    assert not any(c.closes_fence for c in chunks)


def test_what_does_not_fit_a_message_is_returned_as_overflow_never_cut() -> None:
    lines = [f"line {i:03} " + "." * 90 for i in range(200)]  # about 20k characters

    packed = pack_lines(lines, budget=3000)

    assert sum(len(c.text) for c in packed.chunks) <= 12_000
    assert packed.overflow
    assert original(packed.chunks + packed.overflow) == "\n".join(lines)


def test_at_most_max_chunks_go_in_the_first_message() -> None:
    packed = pack_lines([str(i) * 10 for i in range(10)], budget=12, max_chunks=3)
    assert len(packed.chunks) == 3 and len(packed.overflow) == 7


def test_a_budget_too_small_for_the_fences_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12"):
        chunk_lines(["x"], budget=11)


line_text = st.text(alphabet=st.sampled_from("ab `\t\u00e9\U0001f600"), max_size=60)


@settings(max_examples=400, deadline=None)
@given(lines=st.lists(line_text, max_size=30), budget=st.integers(min_value=12, max_value=80))
@example(lines=["`" * 20], budget=12)
@example(lines=["```", "x" * 100, "```"], budget=12)
def test_properties_every_character_once_in_order_budget_kept_fences_balanced(lines: list[str], budget: int) -> None:
    chunks = chunk_lines(lines, budget=budget)

    assert original(chunks) == "\n".join(lines)
    for chunk in chunks:
        assert len(chunk.text) <= budget
        assert chunk.text.count(FENCE) % 2 == 0
    # A fence closed at a split is reopened at the very next chunk, and only there.
    for before, after in itertools.pairwise(chunks):
        assert before.closes_fence == after.reopens_fence
    if chunks:
        assert not chunks[0].reopens_fence
        # The split changes no fence: the text ends inside one exactly when the input does.
        assert chunks[-1].closes_fence == ("\n".join(lines).count(FENCE) % 2 == 1)


@settings(max_examples=200, deadline=None)
@given(
    lines=st.lists(line_text, max_size=40),
    budget=st.integers(min_value=12, max_value=60),
    max_chunks=st.integers(min_value=1, max_value=5),
    message_budget=st.integers(min_value=12, max_value=200),
)
def test_properties_the_first_message_and_the_overflow_hold_everything(
    lines: list[str], budget: int, max_chunks: int, message_budget: int
) -> None:
    packed = pack_lines(lines, budget=budget, max_chunks=max_chunks, message_budget=message_budget)

    assert packed.chunks + packed.overflow == chunk_lines(lines, budget=budget)
    assert len(packed.chunks) <= max_chunks
    assert bool(lines) == bool(packed.chunks)  # the first message is never empty when there is text
    assert len(packed.chunks) == 1 or sum(len(c.text) for c in packed.chunks) <= message_budget


def test_cutting_a_long_line_grows_linearly() -> None:
    """A 256 KB log line of `&` is 1.3 MB escaped. 4x the line: linear is ~4x the time, cutting
    by copying the rest of the line at every cut ~16x. CPU time, least of 3, against the machine's load."""

    def least(line: str) -> float:
        times = []
        for _ in range(3):
            started = time.thread_time()
            chunk_lines([line])
            times.append(time.thread_time() - started)
        return min(times)

    ratio = least("x" * 1_280_000) / max(least("x" * 320_000), 1e-5)

    assert ratio < 8, f"4x the line took {ratio:.1f}x as long"
