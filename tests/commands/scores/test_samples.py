"""Endpoint answers in the shapes real scoreboards use; anything else is a skipped row, never a crash."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands.scores.samples import MAX_TEAMS, PayloadError, ScoreSample, read_body, read_payload


def test_the_gameday_shape() -> None:
    reading = read_payload([{"Team": "A", "Profit": 123.4}, {"Team": "B", "Profit": -5}], at=10.0)
    assert reading.samples == (ScoreSample(10.0, "A", 123.4), ScoreSample(10.0, "B", -5.0))
    assert reading.skipped == ()


@pytest.mark.parametrize(
    "payload",
    [
        {"scores": [{"team": "A", "score": "1,234.5"}]},
        {"Data": {"Teams": [{"NAME": "A", "POINTS": " 1234.5 "}]}},
        {"status": "ok", "rows": [{"Team_Name": "A", "profit": 1234.5}]},
        [{"teamName": "A", "Score": "1234.5"}],
    ],
)
def test_wrapped_lists_keys_in_any_case_and_numbers_as_strings(payload: Any) -> None:
    assert read_payload(payload, at=1.0).samples == (ScoreSample(1.0, "A", 1234.5),)


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("A", "a str, not an object"),
        ({"Profit": 3}, "no team name"),
        ({"Team": "A"}, "no score"),
        ({"Team": "", "Profit": 3}, "empty"),
        ({"Team": True, "Profit": 3}, "empty"),
        ({"Team": "A", "Profit": "lots"}, "not a number"),
        ({"Team": "A", "Profit": "NaN"}, "not a number"),
        ({"Team": "A", "Profit": 1e300}, "not a number"),
        ({"Team": "A", "Profit": None}, "not a number"),
        ({"Team": "A", "Profit": False}, "not a number"),
    ],
)
def test_a_bad_row_is_skipped_with_its_reason(row: Any, reason: str) -> None:
    reading = read_payload([row, {"Team": "B", "Profit": 1}], at=1.0)
    assert [s.team for s in reading.samples] == ["B"]
    assert reading.skipped[0].index == 0 and reason in reading.skipped[0].reason


def test_a_team_listed_twice_is_skipped_entirely_rather_than_guessed() -> None:
    reading = read_payload([{"Team": "A", "Profit": 1}, {"Team": "A", "Profit": 9}, {"Team": "B", "Profit": 2}], 1.0)
    assert [s.team for s in reading.samples] == ["B"]
    assert [s.index for s in reading.skipped] == [0, 1]


def test_rows_beyond_the_cap_are_skipped() -> None:
    rows = [{"Team": f"T{i}", "Profit": i} for i in range(MAX_TEAMS + 3)]
    reading = read_payload(rows, 1.0)
    assert len(reading.samples) == MAX_TEAMS and len(reading.skipped) == 3


@pytest.mark.parametrize("body", [b"<html>502</html>", b"", b"\xff\xfe", b"[" * 100_000, b'{"a": 1}', b"42"])
def test_an_unreadable_answer_is_a_failed_poll(body: bytes) -> None:
    with pytest.raises(PayloadError):
        read_body(body, 1.0)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@given(json_values)
def test_any_json_either_reads_or_is_a_payload_error(payload: Any) -> None:
    try:
        reading = read_payload(payload, at=5.0)
    except PayloadError:
        return
    for sample in reading.samples:
        assert sample.team and math.isfinite(sample.value) and sample.at == 5.0
    teams = [s.team for s in reading.samples]
    assert len(teams) == len(set(teams))


team_names = st.text(st.characters(codec="ascii", categories=["L", "N"]), min_size=1, max_size=10)
values = st.floats(-1e9, 1e9, allow_nan=False) | st.integers(-(10**9), 10**9)
rows = st.lists(
    st.tuples(
        st.sampled_from(["Team", "team", "TEAM", "name"]),
        team_names,
        st.sampled_from(["Profit", "score", "POINTS"]),
        values,
    ),
    max_size=20,
    unique_by=lambda row: row[1],
)


@given(rows, st.booleans(), st.booleans())
def test_well_formed_rows_survive_any_wrapping_and_stringing(
    rows: list[tuple[str, str, str, float]], wrap: bool, strings: bool
) -> None:
    listed = [{tk: team, vk: repr(v) if strings else v} for tk, team, vk, v in rows]
    payload: Any = {"Scores": listed} if wrap else listed
    reading = read_body(json.dumps(payload).encode(), at=2.0)
    assert reading.skipped == ()
    assert [(s.team, s.value) for s in reading.samples] == [(team, float(v)) for _, team, _, v in rows]
