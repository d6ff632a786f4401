"""`opsbot demo` runs end to end on loopback and writes its transcript."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.local.demo import run_demo
from bot.local.demo_ssh import ssh_scene
from bot.local.sshd import SshdUnavailable, find_sshd


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
    assert "Only opsbot admins may delete Lambda versions" in printed
    assert "Pruned us-east-1: deleted 12 of 12 versions, freed 3.6 MiB" in printed
    assert "Traceback" not in printed
    assert "Polling `gameday` every 10 s. The first poll stored 6 scores." in printed
    assert "Marked `load spike` on `gameday`" in printed
    assert "Lead change: *Lambda Llamas* overtakes Unicorn Ops." in printed
    assert re.search(r"opsbot poller> .* \[4 messages, \d+ edits in place\]", printed)
    page = (tmp_path / "out" / "index.html").read_text()
    assert "<h1>opsbot demo</h1>" in page and "shop-prod-2" in page
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


def test_transcript_html_shows_a_table_block_as_a_table() -> None:
    from bot.local.demo_html import _reply
    from bot.slack.blocks import table

    blocks = table([("environment", "running"), ("shop <prod>", "2")], {1})
    page = _reply({"response_type": "in_channel", "blocks": blocks})
    assert "<table><tr><td>environment</td><td class=right>running</td></tr>" in page
    assert "<tr><td>shop &lt;prod&gt;</td><td class=right>2</td></tr></table>" in page


def test_without_sshd_the_ssh_scene_says_plainly_that_it_is_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.local.sshd.SSHD_CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path))  # no sshd on it
    assert run_demo(tmp_path / "out", scenes=[ssh_scene]) == 0
    printed = capsys.readouterr().out
    assert "== SSH scene skipped: OpenSSH's sshd is not installed (Debian: apt-get install openssh-server)." in printed
    assert "/eb-ip" not in printed and "Traceback" not in printed
