"""CTFd's two scoreboard shapes, as CTFd/api/v1/scoreboard.py writes them, and what a bad one costs."""

from __future__ import annotations

from typing import Any

import pytest

from commands.scores.ctfd import read_top, top_url
from commands.scores.samples import PayloadError, read_payload

LIST = {
    "success": True,
    "data": [
        {"pos": 1, "account_id": 2, "account_url": "/teams/2", "account_type": "team", "oauth_id": None}
        | {"name": "Root Cause", "score": 300, "bracket_id": None, "bracket_name": None, "members": []},
        {"pos": 2, "account_id": 1, "account_url": "/teams/1", "account_type": "team", "oauth_id": None}
        | {"name": "Null Pointers", "score": 250, "bracket_id": None, "bracket_name": None, "members": []},
    ],
}


def _solve(value: Any, date: Any, challenge: int | None = 1) -> dict[str, Any]:
    return {"challenge_id": challenge, "account_id": 2, "team_id": 2, "user_id": 5, "value": value, "date": date}


TOP = {
    "success": True,
    "data": {
        "1": {"id": 2, "account_url": "/teams/2", "name": "Root Cause", "score": 300, "bracket_id": None}
        | {
            "solves": [
                _solve(100, "2025-05-01T08:00:00Z"),
                _solve(150, "2025-05-01T08:10:00.123456Z"),
                _solve(-20, "2025-05-01T08:10:00.123456Z", challenge=None),  # an award, at the same time
                _solve(70, "2025-05-01T08:59:59"),  # naive: CTFd's UTC
            ]
        },
        "2": {"id": 1, "name": "Null Pointers", "score": 250, "solves": [_solve(250, "2025-05-01T09:30:00Z")]},
    },
}
T0 = 1746086400.0  # 2025-05-01T08:00:00Z


def test_the_list_shape_and_the_top_shape_both_poll() -> None:
    assert [(s.team, s.value) for s in read_payload(LIST, 1.0).samples] == [
        ("Root Cause", 300.0),
        ("Null Pointers", 250.0),
    ]
    assert [(s.team, s.value) for s in read_payload(TOP, 1.0).samples] == [
        ("Root Cause", 300.0),
        ("Null Pointers", 250.0),
    ]


def test_the_solves_are_running_scores_before_the_first_poll() -> None:
    reading = read_top(TOP, before=T0 + 3600)
    assert [(round(s.at - T0, 3), s.team, s.value) for s in reading.samples] == [
        (0.0, "Root Cause", 100.0),
        (600.123, "Root Cause", 230.0),  # one sample after both entries at that time
        (3599.0, "Root Cause", 300.0),
    ]  # Null Pointers solved after the first poll: the poll has it
    assert reading.skipped == ()


@pytest.mark.parametrize(
    "payload",
    [LIST, {"data": []}, [], "x", {"data": {"first": {}}}],
)
def test_anything_but_the_top_shape_is_a_payload_error(payload: Any) -> None:
    with pytest.raises(PayloadError):
        read_top(payload, before=T0)


def test_bad_accounts_and_solves_are_skipped_with_a_reason_never_guessed() -> None:
    payload = {
        "data": {
            "1": {"name": "", "solves": []},
            "2": {
                "name": "Ok",
                "solves": [_solve("x", "2025-05-01T08:00:00Z"), _solve(5, "yesterday"), "s", _solve(7, 7)],
            },
            "3": {"name": "Ok", "solves": [_solve(1, "2025-05-01T08:00:00Z")]},
            "4": {"name": "No list", "solves": {}},
        }
    }
    reading = read_top(payload, before=T0 + 1)
    assert reading.samples == ()
    assert [s.index for s in reading.skipped] == [0, 1, 1, 1, 1, 2, 3]


def test_the_top_url_of_either_shape_and_none_for_other_endpoints() -> None:
    assert top_url("https://ctf.example/api/v1/scoreboard") == "https://ctf.example/api/v1/scoreboard/top/50"
    assert (
        top_url("https://ctf.example/x/api/v1/scoreboard/top/10/?a=1")
        == "https://ctf.example/x/api/v1/scoreboard/top/50"
    )
    assert top_url("https://gameday.example/prod/scores") is None
    assert top_url("https://ctf.example/api/v1/scoreboard/topx") is None
