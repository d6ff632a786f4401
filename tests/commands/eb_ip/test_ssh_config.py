"""The generated ssh config against hostile aliases: whatever is typed after `ssh`, nothing of it reaches a
shell, on clients old enough to pass any host name to the ProxyCommand and on today's OpenSSH."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from commands.eb_ip.ssh_config import ssh_config
from tests.commands.eb_ip.test_routes import ENV, fake_programs, proxy_command, shell_env

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
