"""`opsbot demo` runs end to end on loopback and writes its transcript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.local.demo import run_demo
from bot.local.demo_accounts import accounts_scene
from bot.local.demo_ssh import ssh_scene
from bot.local.demo_tail import forwarder_scene, tail_scene
from bot.local.seeds_logs import ORDERS, ORDERS_JSON, request_id
from bot.local.sshd import SshdUnavailable, find_sshd


def no_crash(printed: str) -> bool:
    """No Python traceback of the demo's own; the logs it shows hold one, behind /tail's error mark."""
    return not re.search(r"^\s*Traceback", printed, re.M)


def exchange(printed: str, said: str) -> str:
    """The one exchange of the printed transcript that begins with `said`, with what it showed."""
    (found,) = [block for block in printed.split("\n\n") if re.match(rf"\S+> {re.escape(said)}    \[", block)]
    return found


def section(printed: str, note: str, until: str = "") -> str:
    """From the narration that starts with `note` to the next one (or to the one that starts with `until`)."""
    start = printed.index(f"\n== {note}")
    end = printed.find(f"\n== {until}", start + 1)
    return printed[start : end if end > 0 else None]


def sshd_installed() -> bool:
    try:
        find_sshd()
    except SshdUnavailable:
        return False
    return True


def test_demo_runs_every_scene_and_writes_html(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_demo(tmp_path / "out") == 0
    printed = capsys.readouterr().out
    if sshd_installed():
        assert re.search(
            r"`uptime` on demo-env #1 \(i-[0-9a-f]+, 127\.0\.0\.1 via the bastion 127\.0\.0\.1\): exit status 0\n +\S",
            printed,
        )
        assert "`reboot` is not a configured check." in printed
        assert "Checks for `run CHECK`: `disk`, `uptime`." in printed
        archived = re.search(r": commit `([0-9a-f]{40})` on `capacity-reports`\.", printed)
        assert archived, printed[-3000:]
        assert f"→: {archived[1]} opsbot: Lambda code storage in us-east-1" in printed  # the git CLI's log
    else:
        assert "SSH scene skipped: OpenSSH's sshd is not installed" in printed
    assert "shop-prod: 3 running instances, oldest first" in printed
    assert "(private only)" in printed
    assert "[HTTP 401]" in printed and "missing or revoked token" in printed
    assert "StrictHostKeyChecking accept-new" in printed
    assert "Only opsbot admins may use `/lambda-capacity prune`" in printed
    assert "Pruned us-east-1: deleted 12 of 12 versions, freed 3.6 MiB" in printed
    assert no_crash(printed)
    assert "Polling `gameday` every 10 s. The first poll stored 6 scores." in printed
    assert "Marked `load spike` on `gameday`" in printed
    assert "Lead change: *Lambda Llamas* overtakes Unicorn Ops." in printed
    assert re.search(r"opsbot poller> .* \[4 messages, \d+ edits in place\]", printed)
    assert "*orders since " in printed and "*orders-json since " in printed
    assert printed.count("[each invocation once]") == 2  # the forwarder's channel and the poller's
    follow = exchange(printed, f"/tail {ORDERS} --follow 10s")
    assert "opsbot (in the thread): _Following with CloudWatch Logs Live Tail._" in follow
    assert follow.count(request_id(ORDERS, 5)) == 1  # the invocation that ran during the follow, once
    assert request_id(ORDERS_JSON, 1) not in follow  # moto's Live Tail answers for another group too
    assert "Stopped following: time is up (10 seconds). 1 invocation and 5 log events" in follow
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<h1>opsbot demo</h1>" in page and "shop-prod-2" in page
    assert "<div class=tag>in the thread</div>" in page
    charts = re.findall(r"<img src='([^']*scores-gameday-[^']*\.png)'", page)
    assert len(charts) == 2, "the chart --rank reply's and the poster's"
    for chart in charts:
        assert (tmp_path / "out" / chart).read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_transcript_html_shows_mrkdwn_as_slack_does() -> None:
    from bot.local.demo_html import mrkdwn

    html = mrkdwn("*Approved* by <@U0ADMIN>: see <https://x.example|docs> &amp; `code`\n```a < b```")
    assert html == (
        '<b>Approved</b> by <b>@U0ADMIN</b>: see <a href="https://x.example">docs</a> &amp; '
        "<code>code</code><br><pre>a &lt; b</pre>"
    )
    assert mrkdwn(":red_circle: error, :large_green_circle: ok, :unknown_code:") == (
        "\U0001f534 error, \U0001f7e2 ok, :unknown_code:"
    )


def test_transcript_html_shows_a_table_block_as_a_table() -> None:
    from bot.local.demo_html import _reply
    from bot.slack.blocks import table

    blocks = table([("environment", "running"), ("shop <prod>", "2")], {1})
    page = _reply({"response_type": "in_channel", "blocks": blocks})
    assert "<table><tr><td>environment</td><td class=right>running</td></tr>" in page
    assert "<tr><td>shop &lt;prod&gt;</td><td class=right>2</td></tr></table>" in page


def test_transcript_html_draws_emoji_in_table_cells_and_a_data_table_with_its_numbers_right() -> None:
    from bot.local.demo_html import _reply
    from bot.slack.blocks import Cell, table
    from bot.slack.data_blocks import data_table, raw_number

    blocks = table([("team", "profit"), ("Root Cause", Cell("705.40", emoji="large_green_circle"))], {1})
    page = _reply({"response_type": "in_channel", "blocks": blocks})
    assert "<td class=right>\U0001f7e2 705.40</td>" in page and ":large_green_circle:" not in page
    native = data_table("gd: the ranking", ["#", "Team"], [[raw_number(1, "1"), "A <b>"]])
    page = _reply({"response_type": "in_channel", "blocks": [native]})
    assert "<caption class=tag>gd: the ranking</caption>" in page
    assert "<tr><td class=right>1</td><td>A &lt;b&gt;</td></tr>" in page


def test_without_sshd_the_ssh_scene_says_plainly_that_it_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.local.sshd.SSHD_CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path))  # no sshd on it
    assert run_demo(tmp_path / "out", scenes=[ssh_scene]) == 0
    printed = capsys.readouterr().out
    assert "== SSH scene skipped: OpenSSH's sshd is not installed (Debian: apt-get install openssh-server)." in printed
    assert "/eb-ip" not in printed and no_crash(printed)


def test_the_tail_scene_shows_every_status_in_both_log_formats_and_the_forwarder_posts_each_line_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(tmp_path / "out", scenes=[tail_scene, forwarder_scene]) == 0
    printed = capsys.readouterr().out
    assert no_crash(printed)

    def header(text: str, function: str, n: int) -> str:
        (line,) = [line for line in text.splitlines() if request_id(function, n) in line]
        return line

    classic = exchange(printed, f"/tail {ORDERS}")
    assert "4 invocations" in classic
    cold, warm, failed, timed_out = (header(classic, ORDERS, n) for n in range(1, 5))
    assert ":large_green_circle:" in cold and cold.endswith("· cold start, init 412.77 ms · ok")
    assert ":large_green_circle:" in warm and warm.endswith("· 91 of 256 MB · ok")
    assert ":red_circle:" in failed and failed.endswith("· *error*")
    assert ":red_circle:" in timed_out and timed_out.endswith("· 3.00 s (billed 3.00 s) · 95 of 256 MB · *timeout*")
    assert "✖ KeyError: 'card_token'" in classic and "✖ Traceback (most recent call last):" in classic
    assert "✖ Task timed out after 3.00 seconds" in classic
    assert "REPORT RequestId" not in classic and "START RequestId" not in classic  # read, not pasted

    json_format = exchange(printed, f"/tail {ORDERS_JSON} --since 1h")
    assert "3 invocations" in json_format
    cold, failed, oom = (header(json_format, ORDERS_JSON, n) for n in range(1, 4))
    assert cold.endswith("· 88 of 512 MB · cold start, init 301.5 ms · ok")
    assert failed.endswith("· *error (ZeroDivisionError)*")
    assert oom.endswith("· 512 of 512 MB · *out of memory (Runtime.OutOfMemory)*")
    assert '"orderId": 2041' in json_format and "stock for sku 8812 is low" in json_format
    assert "✖ ZeroDivisionError: division by zero" in json_format
    assert '"type":"platform.report"' not in json_format and "platform.start" not in json_format

    filtered = exchange(printed, f"/tail {ORDERS} --filter ERROR")
    assert "(filtered)" in filtered and "payment gateway answered 502 for order 1043" in filtered
    assert "charging order" not in filtered
    assert exchange(printed, "/tail no-such-function").endswith(  # the demo channel's account, then
        "opsbot (only you): There is no log group `/aws/lambda/no-such-function` in us-east-1."
        "\n    _AWS account: *demo (the bot's own)*_"
    )

    forwarded = section(printed, "The forwarder:", until="Without the forwarder Lambda")
    posts = "\n\n".join(b for b in forwarded.split("\n\n") if b.startswith("CloudWatch Logs> "))
    for n in range(1, 5):  # each invocation, and each of its lines, in the channel once
        assert posts.count(request_id(ORDERS, n)) == 1, posts
        assert posts.count(f"charging order {1040 + n} ") == 1, posts
    assert posts.count("✖ Task timed out after 3.00 seconds") == 1
    assert posts.count("✖ KeyError: 'card_token'") == 1
    assert "1 message to #C0LOGS after 3 attempts (503, then 429 Retry-After: 1, then ok)" in posts
    assert '"status": "duplicate"' in posts and "0 messages to #C0LOGS" in posts
    polled = section(printed, "Without the forwarder Lambda")
    polls = "\n\n".join(b for b in polled.split("\n\n") if b.startswith("opsbot poller> "))
    assert [polls.count(request_id(ORDERS_JSON, n)) for n in range(1, 5)] == [1, 1, 1, 1], polls
    assert "[0 new events, 0 messages to #C0LOGSPOLL]" in polls

    page = (tmp_path / "out" / "index.html").read_text()
    assert "<span class=who>CloudWatch Logs</span>" in page
    assert "✖ Task timed out after 3.00 seconds</pre>" in page and "<b>timeout</b>" in page


def test_the_home_scene_shows_the_home_tab_a_revoke_from_it_and_a_mention_answered_in_its_thread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.local.demo import eb_ip_scene
    from bot.local.demo_home import home_scene

    assert run_demo(tmp_path / "out", scenes=[eb_ip_scene, home_scene]) == 0
    printed = capsys.readouterr().out
    assert no_crash(printed)

    home = exchange(printed, "[opens opsbot's Home tab]")
    for name in ("/eb-ip", "/lambda-capacity", "/tail", "/scores"):
        assert name in home
    assert "[ Revoke my tokens ]" in home
    assert re.search(
        r"Revoked [1-9] tokens? of yours", exchange(printed, "[presses “Revoke my tokens” on the Home tab]")
    )
    assert "opsbot (in the thread)" in exchange(printed, "@opsbot what can you do?")
    assert "Home tab" in (tmp_path / "out" / "index.html").read_text()


def test_the_accounts_scene_shows_one_channel_on_each_account(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_demo(tmp_path / "out", scenes=[accounts_scene]) == 0
    printed = capsys.readouterr().out
    in_prod = exchange(printed, "[in #C0PROD] /eb-ip")
    assert "payments-prod" in in_prod and "AWS account: *prod (Production)*" in in_prod
    own = exchange(printed, "[in #C0PROD] /eb-ip --account demo")
    assert "payments-prod" not in own and "AWS account: *demo (the bot's own)*" in own
    refused = exchange(printed, "/eb-ip --account prod")
    assert "This channel may not use that account; `--account` takes one of: `demo`." in refused
    audit = exchange(printed, "/opsbot-audit --account prod")
    assert "/eb-ip → ok" in audit and "in prod" in audit
    assert no_crash(printed)
