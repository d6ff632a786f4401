"""data_table and data_visualization payloads held to Slack's documented limits, and the invalid_blocks
fallback sent once through the delivery to the stand-in over real HTTP."""

from __future__ import annotations

import pytest
from slack_bolt import Respond
from slack_sdk import WebClient

from bot.local.slack_standin import SlackStandIn
from bot.reply import Reply
from bot.slack.blocks import section
from bot.slack.data_blocks import (
    MAX_ROWS,
    MAX_SERIES,
    MAX_TABLE_CHARS,
    cell_chars,
    check,
    data_table,
    line_chart,
    raw_number,
)
from bot.slack.delivery import SlackDelivery
from bot.slack.outbox import DeliveryPolicy
from bot.slack.pacer import ChannelPacer
from bot.state import Store

CHANNEL = "C0SCORES"


def test_a_table_of_any_size_is_fitted_into_the_limits() -> None:
    rows = [[raw_number(i, str(i)), f"Team {i} " + "x" * 60, 1.5 * i, ""] for i in range(300)]
    table = data_table("board", ["#", "Team", "Profit", "Note"], rows, page_size=500)
    assert check([table]) == []
    assert 2 <= len(table["rows"]) <= MAX_ROWS and table["page_size"] == 100
    assert sum(cell_chars(c) for row in table["rows"] for c in row) <= MAX_TABLE_CHARS
    assert table["rows"][1][3] == {"type": "raw_text", "text": "–"}  # an empty cell is not sent empty
    assert table["rows"][3][2] == {"type": "raw_number", "value": 3.0, "text": "3"}  # row 2 (after the header)
    small = data_table("board", ["#", "Team"], [[1, "A"], [2, "B"]])
    assert [len(small["rows"]), check([small])] == [3, []]


@pytest.mark.parametrize(
    ("block", "problem"),
    [
        ({"type": "data_table", "caption": "", "rows": [[{"type": "raw_text", "text": "a"}]] * 2}, "without a caption"),
        ({"type": "data_table", "caption": "c", "rows": [[{"type": "raw_text", "text": "a"}]]}, "1 rows"),
        ({"type": "data_table", "caption": "c", "rows": [[{"type": "raw_text", "text": "a"}]] * 102}, "102 rows"),
        (
            {"type": "data_table", "caption": "c", "rows": [[{"type": "raw_text", "text": "a"}], []]},
            "all alike",
        ),
        (
            {"type": "data_table", "caption": "c", "rows": [[{"type": "rich_text", "elements": []}]] * 2},
            "rich_text in the header",
        ),
        ({"type": "data_table", "caption": "c", "rows": [[{"type": "raw_text", "text": ""}]] * 2}, "empty text"),
        (
            {"type": "data_table", "caption": "c", "rows": [[{"type": "raw_text", "text": "x" * 5001}]] * 2},
            "characters",
        ),
        (
            {"type": "data_table", "caption": "c", "rows": [[raw_number(float("nan"), "x")]] * 2},
            "finite value",
        ),
        ({"type": "data_table", "caption": "c", "page_size": 0, "rows": [[raw_number(1, "1")]] * 2}, "page_size"),
    ],
)
def test_check_names_what_a_table_breaks(block: dict, problem: str) -> None:
    assert any(problem in p for p in check([block])), check([block])


def test_a_line_chart_keeps_six_series_one_point_per_category_and_short_labels() -> None:
    series = [(f"A very long team name number {i}", [float(i), float(i + 1)]) for i in range(9)]
    block = line_chart("t" * 80, ["09:00", "10:00 and a long label"], series, "Time (CEST)", "Profit")
    assert check([block]) == []
    chart = block["chart"]
    assert len(chart["series"]) == MAX_SERIES and len(block["title"]) == 50
    names = [s["name"] for s in chart["series"]]
    assert len(set(names)) == 6 and all(len(n) <= 20 for n in names)  # clipped alike, then numbered
    assert chart["series"][0]["data"] == [
        {"label": "09:00", "value": 0.0},
        {"label": "10:00 and a long la…", "value": 1.0},
    ]
    assert any("at most 2" in p for p in check([block] * 3))
    broken = {**block, "chart": {**chart, "series": chart["series"] + chart["series"][:1]}}
    assert any("series" in p for p in check([broken]))


def _delivery(standin: SlackStandIn, store: Store) -> SlackDelivery:
    client = WebClient(token=standin.bot_token, base_url=standin.api_url)
    return SlackDelivery(client, store, DeliveryPolicy(first_retry=0.05, max_retry=0.2), pacer=ChannelPacer(0.0))


TABLE = data_table("board", ["#", "Team"], [[1, "Root Cause"]])
REPLY = Reply("board", blocks=[TABLE], fallback_blocks=[section("the old table")])


def test_where_slack_has_the_blocks_they_go_and_the_fallback_stays_home(standin: SlackStandIn, store: Store) -> None:
    assert _delivery(standin, store).post(CHANNEL, REPLY).result(timeout=10)
    (call,) = standin.calls_to("chat.postMessage")
    assert "fallback_blocks" not in call.params
    assert [b["type"] for b in standin.messages(CHANNEL)[0]["blocks"]] == ["data_table"]


def test_refused_as_invalid_blocks_the_fallback_goes_once_per_message(standin: SlackStandIn, store: Store) -> None:
    standin.refuse_blocks("data_table", "data_visualization")
    delivery = _delivery(standin, store)
    assert delivery.post(CHANNEL, REPLY).result(timeout=10)
    assert len(standin.calls_to("chat.postMessage")) == 2  # the refused one, then the fallback: no loop
    assert [b["type"] for b in standin.messages(CHANNEL)[0]["blocks"]] == ["section"]
    # by response_url (a slash command's reply): the same
    url = standin.new_response_url(CHANNEL)
    assert delivery.send(REPLY, Respond(response_url=url), CHANNEL).result(timeout=10)
    ((reply,),) = [standin.replies_to(url)]
    assert [b["type"] for b in reply["blocks"]] == ["section"]
    assert len(standin.calls_to("response_url")) == 2
    # a reply without a fallback is refused, not sent twice
    assert not delivery.post(CHANNEL, Reply("board", blocks=[TABLE])).result(timeout=10)
    assert len(standin.calls_to("chat.postMessage")) == 3


def test_a_terminal_shows_a_data_table_as_aligned_lines_numbers_right() -> None:
    from bot.slack.blocks import as_text

    table = data_table(
        "board", ["#", "Team", "Profit"], [[raw_number(1, "1"), "Root Cause", raw_number(5.5, "🟢 5.50")]]
    )
    chart = line_chart("gd: the top 1", ["09:00"], [("Root Cause", [5.5])], "Time (UTC)", "Profit")
    assert as_text(Reply("board", blocks=[table, chart])).splitlines() == [
        "#  Team        Profit",
        "1  Root Cause  🟢 5.50",
        "[chart: gd: the top 1]",
    ]
