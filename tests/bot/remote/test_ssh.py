"""SSH against a real OpenSSH sshd on loopback: output and exit status, strict host keys, the wrong key, a bastion."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.command import CommandError
from bot.local.sshd import LocalSshd, MemoryKey, SshdUnavailable, local_sshd, new_key
from bot.remote.config import Endpoint
from bot.remote.keys import load_private_key, parse_known_hosts
from bot.remote.ssh import HostRefused, run_command, ssh_session

ROOT = Path(__file__).resolve().parents[3]


def target_of(server: LocalSshd) -> Endpoint:
    return Endpoint(server.host, server.port, server.user)


def test_a_command_runs_and_its_output_and_exit_status_arrive(sshd: LocalSshd, client_key: MemoryKey) -> None:
    key, known = load_private_key(client_key.private_text), parse_known_hosts(sshd.known_hosts)
    with ssh_session(target_of(sshd), key, known) as client:
        result = run_command(client, "echo out; echo err >&2; exit 3", timeout=10)
    assert result.exit_status == 3
    assert result.output.split() == [b"out", b"err"]


def test_a_command_runs_in_the_login_shell_as_before_the_timeout_wrapper(
    sshd: LocalSshd, client_key: MemoryKey
) -> None:
    key, known = load_private_key(client_key.private_text), parse_known_hosts(sshd.known_hosts)
    with ssh_session(target_of(sshd), key, known) as client:
        login_shell = run_command(client, "echo $SHELL", timeout=10).output.decode().strip()
        result = run_command(client, "[[ a == a ]] && echo bash-ism ok", timeout=10)  # dash has no [[
    if not login_shell.endswith("bash"):
        pytest.skip(f"the login shell here is {login_shell}, not bash")
    assert (result.exit_status, result.output) == (0, b"bash-ism ok\n")


def test_a_command_that_outlives_its_timeout_is_reported_as_such(sshd: LocalSshd, client_key: MemoryKey) -> None:
    key, known = load_private_key(client_key.private_text), parse_known_hosts(sshd.known_hosts)
    with ssh_session(target_of(sshd), key, known) as client:
        result = run_command(client, "echo started; sleep 30", timeout=1)
    assert result.timed_out
    assert result.output == b"started\n"
    assert result.seconds < 5


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"  # a zombie has stopped; only its parent has not collected it yet


def test_a_command_that_outlives_its_timeout_is_stopped_on_the_host(
    tmp_path: Path, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    key, known = load_private_key(client_key.private_text), parse_known_hosts(sshd.known_hosts)
    pid_file = tmp_path / "pid"  # the loopback sshd's host is this one: its processes are ours to see
    with ssh_session(target_of(sshd), key, known) as client:
        result = run_command(client, f"sleep 60 & echo $! > {pid_file}; wait", timeout=1)
    assert result.timed_out
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 20
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _running(pid), f"the check's process {pid} still runs on the host after the bot gave up"


def test_an_unknown_host_key_is_refused(sshd: LocalSshd, client_key: MemoryKey) -> None:
    other_host = f"[{sshd.host}]:{sshd.port + 1} {sshd.host_key_line}\n"  # the right key, another name
    with (
        pytest.raises(HostRefused, match=r"is not in the bot's known hosts \(it offered ssh-ed25519 SHA256:"),
        ssh_session(target_of(sshd), load_private_key(client_key.private_text), parse_known_hosts(other_host)),
    ):
        pass


def test_a_changed_host_key_is_refused(sshd: LocalSshd, client_key: MemoryKey) -> None:
    stale = f"[{sshd.host}]:{sshd.port} {new_key().public_line}\n"
    with (
        pytest.raises(HostRefused, match=r"host key of 127\.0\.0\.1:\d+ has changed: .*Refusing to connect"),
        ssh_session(target_of(sshd), load_private_key(client_key.private_text), parse_known_hosts(stale)),
    ):
        pass


def test_a_wrong_key_is_refused(sshd: LocalSshd) -> None:
    wrong = load_private_key(new_key("rsa").private_text)
    with (
        pytest.raises(
            HostRefused,
            match=rf"^{sshd.user}@127\.0\.0\.1:\d+ refused the bot's key \((?:rsa-sha2-512|ssh-rsa) SHA256:",
        ),
        ssh_session(target_of(sshd), wrong, parse_known_hosts(sshd.known_hosts)),
    ):
        pass


def test_a_private_instance_is_reached_through_the_bastion(client_key: MemoryKey) -> None:
    key = load_private_key(client_key.private_text)
    try:
        with local_sshd([client_key.public_line]) as instance, local_sshd([client_key.public_line]) as bastion:
            known = parse_known_hosts(instance.known_hosts + bastion.known_hosts)
            with ssh_session(target_of(instance), key, known, bastion=target_of(bastion)) as client:
                assert run_command(client, "echo behind", 10).output == b"behind\n"
    except SshdUnavailable as why:
        pytest.skip(f"no local sshd: {why}")


def test_a_bastion_that_will_not_forward_is_named(client_key: MemoryKey) -> None:
    key = load_private_key(client_key.private_text)
    try:
        with (
            local_sshd([client_key.public_line]) as instance,
            local_sshd([client_key.public_line], ["PermitOpen 127.0.0.1:1"]) as bastion,
        ):
            known = parse_known_hosts(instance.known_hosts + bastion.known_hosts)
            with (
                pytest.raises(CommandError, match=r"^The bastion 127\.0\.0\.1 would not forward to 127\.0\.0\.1:\d+"),
                ssh_session(target_of(instance), key, known, bastion=target_of(bastion)),
            ):
                pass
    except SshdUnavailable as why:
        pytest.skip(f"no local sshd: {why}")


def test_nothing_in_the_source_tree_trusts_a_host_key_unseen() -> None:
    pattern = re.compile(r"AutoAddPolicy|WarningPolicy|StrictHostKeyChecking[ =]+no\b")
    hits = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "commands", "deploy")
        for path in (ROOT / folder).rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".yaml", ".yml", ".json", ".toml")
        and pattern.search(path.read_text())
    ]
    assert hits == []


def test_starting_the_bot_imports_neither_paramiko_nor_dulwich() -> None:
    code = (
        "import sys, bot.lambda_handler, bot.cli, bot.slack.app, commands;"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('paramiko', 'dulwich'));"
        "print(','.join(loaded))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120, check=True
    )
    assert done.stdout.strip() == ""
