"""Issue 14: `/eb-ip ENV N run CHECK` prints what the host printed. The blocks escaped it, but the message's
top-level text (what notifications show) carried it raw. Through the real entry points: a signed request
through Bolt to the Slack stand-in, and `opsbot run` in a terminal, with a real sshd on loopback."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.aws import AwsClients
from bot.cli import main
from bot.local.sshd import LocalSshd, MemoryKey, new_key
from commands.eb_ip import COMMAND
from tests.bot.remote.conftest import store_key
from tests.commands.eb_ip.test_checks import seed_private_instance
from tests.live_markup import assert_inert

if TYPE_CHECKING:
    from tests.conftest import Bot

ADMIN = "UADMIN1"
PRINTED = "<!channel> <@U123> ``` <https://evil.example|click> &amp; <!subteam^S1>"


@pytest.fixture
def client_key() -> MemoryKey:
    return new_key("ecdsa")


def hostile_config(path: Path, server: LocalSshd) -> Path:
    config = path / "opsbot.toml"
    config.write_text(
        "\n".join(
            [
                "[remote]",
                'key = "s3://ops-secrets/opsbot/id_ed25519"',
                f"known_hosts = {json.dumps(server.known_hosts)}",
                f'user = "{server.user}"',
                f"port = {server.port}",
                f'bastion = "127.0.0.1:{server.port}"',
                "[commands.eb-ip.checks]",
                f"hostile = {json.dumps(f'printf %s {shlex.quote(PRINTED)}')}",
            ]
        )
        + "\n"
    )
    return config


def test_the_checks_output_is_escaped_in_the_text_notifications_show_too(
    serve_bot: Callable[..., Bot],
    tmp_path: Path,
    aws_clients: AwsClients,
    moto: str,
    sshd: LocalSshd,
    client_key: MemoryKey,
) -> None:
    store_key(aws_clients, client_key.private_text)
    seed_private_instance(aws_clients)
    bot = serve_bot([COMMAND], OPSBOT_CONFIG=str(hostile_config(tmp_path, sshd)), OPSBOT_ADMINS=ADMIN)
    status, url = bot.send("shop-prod 1 run hostile", command="/eb-ip", user_id=ADMIN)
    assert status == 200
    reply = bot.reply_to(url)
    assert_inert([call.params for call in bot.standin.calls])
    assert reply["text"].endswith(
        "&lt;!channel&gt; &lt;@U123&gt; `\u200b`\u200b` &lt;https://evil.example|click&gt; "
        "&amp;amp; &lt;!subteam^S1&gt;"
    )


def test_opsbot_run_shows_the_output_as_the_host_printed_it(
    tmp_path: Path,
    aws_clients: AwsClients,
    moto: str,
    sshd: LocalSshd,
    client_key: MemoryKey,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    store_key(aws_clients, client_key.private_text)
    seed_private_instance(aws_clients)
    monkeypatch.setenv("OPSBOT_CONFIG", str(hostile_config(tmp_path, sshd)))
    monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "cli-state.db"))
    assert main(["run", "/eb-ip shop-prod 1 run hostile"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == PRINTED  # a terminal reads it as it was, unescaped
