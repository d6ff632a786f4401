"""The generated ssh config: its text, what it refuses, the reply that carries it; then against hostile aliases:
whatever is typed after `ssh`, nothing of it reaches a shell, on clients old enough to pass any host name to the
ProxyCommand and on today's OpenSSH."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.command import CommandContext, CommandError, UsageError, run_command
from bot.settings import Settings
from bot.text import unescape
from commands.eb_ip import COMMAND
from commands.eb_ip.ssh_config import ssh_config, ssh_config_for_cli
from tests.commands.eb_ip.test_proxy_command import fake_programs, proxy_command, shell_env
from tests.commands.eb_ip.test_routes import ENV

MARKER = "{marker}"
HOSTILE = [
    f"my-env-2.1'$(touch {MARKER})'",
    f"my-env-2.1'; touch {MARKER}; '",
    f'my-env-2.1"$(touch {MARKER})"',
    f"my-env-2.1`touch {MARKER}`",
    f"my-env-2.1$(touch {MARKER})",
    f"my-env-2.1;touch {MARKER}",
    f"my-env-2.1&&touch {MARKER}",
    f"my-env-2.1|touch {MARKER}",
    f"my-env-2.1\ntouch {MARKER}",
    f"my-env-2.1'\ntouch {MARKER}\n'",
    f"my-env-2.1 $(touch {MARKER})",
    f"my-env-2.1%%n'$(touch {MARKER})'",
    f"my-env-2.%p'$(touch {MARKER})'",
    f"my-env-2.1$(touch${{IFS}}{MARKER})",
    "my-env-2." + "1" * 10_000 + f"'$(touch {MARKER})'",
]
REFUSAL = "opsbot: use my-env-2.N, N = 1 to 20 (1 = the oldest instance)\n"


def test_ssh_config_block_names_hosts_unambiguously_and_never_disables_host_key_checks() -> None:
    config = ssh_config(ENV, "https://opsbot.example.com", "~/.config/opsbot/token", "ip")
    assert "Host my-env-2.*\n" in config
    assert "    StrictHostKeyChecking accept-new\n" in config
    assert "    UserKnownHostsFile ~/.ssh/known_hosts_opsbot_my-env-2\n" in config
    assert "StrictHostKeyChecking no" not in config
    assert "https://opsbot.example.com/eb/my-env-2/ip/20" in config
    assert (  # %% is ssh's escape for %; sh then sees printf "...%s\n"
        'ip=$(printf "Authorization: Bearer %%s\\n" "$(cat "$HOME/.config/opsbot/token")" '
        '| curl -fsS --max-time 20 -H @- "https://opsbot.example.com/eb/my-env-2/ip/3") || exit 1;'
    ) in config
    assert "%n" not in config and "%h" not in config  # what the user types never reaches a shell
    assert re.search(r"^Host my-env-2.3\n    ProxyCommand sh -c '.*/ip/3\"\) .*' opsbot %p$", config, re.M)


def test_ssh_config_for_session_manager_asks_for_the_instance_id_and_region() -> None:
    config = ssh_config(ENV, "https://opsbot.example.com", "~/t", "ssm", region="eu-west-1")
    assert "https://opsbot.example.com/region/eu-west-1/eb/my-env-2/id/1" in config
    assert "aws ssm start-session --region eu-west-1 --target" in config
    assert "--document-name AWS-StartSSHSession" in config


def test_ssh_config_refuses_what_cannot_go_into_a_config() -> None:
    with pytest.raises(CommandError, match="set OPSBOT_PUBLIC_URL"):
        ssh_config(ENV, None, "~/t", "ip")
    with pytest.raises(CommandError, match="OPSBOT_PUBLIC_URL has characters"):
        ssh_config(ENV, "https://x.example.com/'$(id)'", "~/t", "ip")
    with pytest.raises(UsageError, match="token path"):
        ssh_config(ENV, "https://x.example.com", "~/my token", "ip")
    with pytest.raises(UsageError, match="not an environment name"):
        ssh_config("my-env.2", "https://x.example.com", "~/t", "ip")


def test_ssh_config_reply_is_private_and_carries_a_fresh_working_token(ctx: CommandContext) -> None:
    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, public_url="https://opsbot.example.com"))
    reply = run_command(COMMAND, f"{ENV} ssh-config", ctx)
    assert reply.ok and not reply.public
    (token,) = set(re.findall(r"opsbot_[A-Za-z0-9_-]{20,}", reply.text))
    assert ctx.store.token_owner is not None and ctx.store.audit_log("token.issue")
    assert ssh_config(ENV, "https://opsbot.example.com", "~/.config/opsbot/token", "ip") in unescape(reply.text)
    assert reply.text.endswith("3. Then: ssh my-env-2.1")
    assert "1&gt;&amp;2" in str(reply.blocks)  # Slack mrkdwn escapes; copying from Slack gives 1>&2 back
    assert token in str(reply.blocks)


def test_ssh_config_without_public_url_says_which_setting(ctx: CommandContext) -> None:
    reply = run_command(COMMAND, f"{ENV} ssh-config", ctx)
    assert not reply.ok and "OPSBOT_PUBLIC_URL" in reply.text
    assert not ctx.store.audit_log("token.issue")  # no token handed out for a config that cannot work


def test_cli_variant_uses_the_settings_public_url(settings: Settings) -> None:
    config = ssh_config_for_cli(ENV, dataclasses.replace(settings, public_url="https://o.example.com"), "~/t")
    assert "https://o.example.com/eb/my-env-2/ip/1" in config


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a token file, and stand-ins for nc and aws that record being run."""
    (tmp_path / "home/.config/opsbot").mkdir(parents=True)
    (tmp_path / "home/.config/opsbot/token").write_text("opsbot_unused\n")
    fake_programs(tmp_path / "bin", "nc", "aws")
    return tmp_path / "home"


@pytest.mark.parametrize("kind", ["ip", "ssm"])
@pytest.mark.parametrize("hostile", HOSTILE, ids=[f"hostile-{n}" for n in range(15)])
def test_a_hostile_alias_runs_nothing_and_gets_one_line(hostile: str, kind: str, home: Path) -> None:
    marker = home.parent / "pwned"
    alias = hostile.replace(MARKER, str(marker))
    config = ssh_config(ENV, "http://127.0.0.1:9", "~/.config/opsbot/token", kind)  # type: ignore[arg-type]

    done = subprocess.run(
        ["/bin/sh", "-c", proxy_command(config, alias)], env=shell_env(home), capture_output=True, text=True, timeout=20
    )

    assert not marker.exists()
    assert (done.returncode, done.stdout, done.stderr) == (2, "", REFUSAL)
    assert not (home.parent / "nc.args").exists() and not (home.parent / "aws.args").exists()


needs_ssh = pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH client not installed")


# Names today's client passes to the config (its CVE-2023-51385 check refuses ' " ` $ ; & | ( ) and blanks).
PASSED_THROUGH = [
    "my-env-2.21",
    "my-env-2.0",
    "my-env-2.*",
    "my-env-2.1%p",
    "my-env-2.1#x",
    "my-env-2.~!",
    "my-env-2.[1]",
]


@needs_ssh
@pytest.mark.parametrize("alias", PASSED_THROUGH + HOSTILE, ids=PASSED_THROUGH + [f"hostile-{n}" for n in range(15)])
def test_openssh_refuses_or_meets_the_last_block_whatever_the_alias(alias: str, home: Path) -> None:
    marker = home.parent / "pwned"
    config_file = home / "ssh_config"
    config_file.write_text(ssh_config(ENV, "http://127.0.0.1:9", "~/.config/opsbot/token", "ip"))

    done = subprocess.run(
        ["ssh", "-F", str(config_file), "-o", "BatchMode=yes", alias.replace(MARKER, str(marker)), "true"],
        env=shell_env(home), capture_output=True, text=True, timeout=20,
    )  # fmt: skip

    assert not marker.exists()
    assert done.returncode == 255
    if alias in PASSED_THROUGH:  # then ssh closes the connection the refusal never opened
        assert done.stderr.startswith(REFUSAL), done.stderr
    else:
        assert done.stderr == "hostname contains invalid characters\n"
    assert not (home.parent / "nc.args").exists()
