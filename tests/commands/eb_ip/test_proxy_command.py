"""The generated ssh config's ProxyCommand run by a real shell (and by OpenSSH when installed) against the
bot's real WSGI app on waitress."""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import os
import re
import shutil
import stat
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext, run_command
from bot.runtime import Runtime
from bot.text import unescape
from commands.eb_ip import COMMAND
from commands.eb_ip.ssh_config import ssh_config
from tests.commands.eb_ip.conftest import serving
from tests.commands.eb_ip.test_routes import ENV, fetch, launch


def fake_programs(bin_dir: Path, *names: str) -> None:
    """Stand-ins for nc and aws that record their arguments instead of connecting."""
    bin_dir.mkdir()
    for name in names:
        path = bin_dir / name
        path.write_text(f'#!/bin/sh\necho "$@" > "$RECORD_DIR/{name}.args"\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)


@pytest.fixture
def home(tmp_path: Path, token: str) -> Path:
    (tmp_path / "home/.config/opsbot").mkdir(parents=True)
    (tmp_path / "home/.config/opsbot/token").write_text(token + "\n")
    fake_programs(tmp_path / "bin", "nc", "aws")
    return tmp_path / "home"


def shell_env(home: Path) -> dict[str, str]:
    return {**os.environ, "HOME": str(home), "PATH": f"{home.parent / 'bin'}:{os.environ['PATH']}",
            "RECORD_DIR": str(home.parent)}  # fmt: skip


def proxy_command(config: str, alias: str, port: str = "22") -> str:
    """Exactly what ssh runs for `ssh ALIAS`: the first ProxyCommand of the Host blocks that match, with %%, %n,
    %h and %p expanded (any other %-key is fatal to ssh, and a KeyError here), given to `/bin/sh -c "exec ..."`."""
    blocks = (block.split("\n", 1) for block in re.split(r"^Host ", config, flags=re.M)[1:])
    matching = (options for names, options in blocks if any(fnmatch.fnmatchcase(alias, n) for n in names.split()))
    line = next(found[1] for options in matching if (found := re.search(r"^ +ProxyCommand (.*)$", options, re.M)))
    keys = {"%": "%", "n": alias, "h": alias, "p": port}
    expanded = re.sub(r"%(.)", lambda key: keys[key[1]], line, flags=re.S)
    return "exec " + expanded.removeprefix("ProxyCommand ")


def spy_programs(bin_dir: Path, *names: str) -> None:
    """Stand-ins that record their argv, then run the real program. curl's also records its stdin and, while
    it and the shells that started it are alive, every process's command line (NUL-separated)."""
    for name in names:
        real = shutil.which(name)
        assert real is not None, name
        curl_extra = (
            f'/bin/cat > "$RECORD_DIR/{name}.stdin"; exec <"$RECORD_DIR/{name}.stdin"\n'
            f'/bin/cat /proc/[0-9]*/cmdline > "$RECORD_DIR/{name}.ps" 2>/dev/null\n'
        )
        path = bin_dir / name
        record = f'printf "%s\\n" "$@" >> "$RECORD_DIR/{name}.argv"'
        path.write_text(f'#!/bin/sh\n{record}\n{curl_extra if name == "curl" else ""}exec {real} "$@"\n')
        path.chmod(path.stat().st_mode | stat.S_IEXEC)


def process_list() -> str:
    """Every process's command line, as any local user can read it."""
    lines = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):  # exited meanwhile
            lines.append(cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace"))
    return "\n".join(lines)


needs_curl = pytest.mark.skipif(shutil.which("curl") is None, reason="the ProxyCommand uses curl")
needs_proc = pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="reads argv from /proc")


@needs_curl
def test_proxy_command_reaches_instance_n_of_an_env_whose_name_ends_in_a_digit(
    served: str, runtime: Runtime, home: Path
) -> None:
    instances = launch(runtime.aws, ENV, 3)
    launch(runtime.aws, "my-env", 2)  # the prefix environment must not be confused with it
    config = ssh_config(ENV, served, "~/.config/opsbot/token", "ip")

    done = subprocess.run(["/bin/sh", "-c", proxy_command(config, "my-env-2.3")], env=shell_env(home), timeout=20)

    assert done.returncode == 0
    assert (home.parent / "nc.args").read_text() == f"{instances[2]['PublicIpAddress']} 22\n"


@needs_curl
@needs_proc
def test_proxy_command_keeps_the_token_out_of_every_argv(served: str, runtime: Runtime, home: Path, token: str) -> None:
    instances = launch(runtime.aws, ENV, 2)
    config = ssh_config(ENV, served, "~/.config/opsbot/token", "ip")
    spy_programs(home.parent / "bin", "curl", "cat", "printf")
    command = proxy_command(config, "my-env-2.2")

    running = subprocess.Popen(["/bin/sh", "-c", command], env=shell_env(home))
    seen = ""
    while running.poll() is None:  # what `ps auxww` shows while curl runs
        seen += process_list()
    assert running.wait(timeout=20) == 0

    record = home.parent
    assert (record / "nc.args").read_text() == f"{instances[1]['PublicIpAddress']} 22\n"
    argv = {path.stem: path.read_text().splitlines() for path in record.glob("*.argv")}
    snapshot = (record / "curl.ps").read_text(errors="replace")
    assert token not in str(argv) and token not in snapshot and token not in seen and token not in command
    assert argv["cat"] == [f"{home}/.config/opsbot/token"]
    assert argv["curl"] == ["-fsS", "--max-time", "20", "-H", "@-", f"{served}/eb/{ENV}/ip/2"]
    assert "printf" not in argv  # sh's printf is a builtin, so no process gets the token as an argument
    assert "-H\0@-" in snapshot  # taken while curl ran
    assert (record / "curl.stdin").read_text() == f"Authorization: Bearer {token}\n"


@needs_curl
def test_proxy_command_for_session_manager_passes_the_instance_id(served: str, runtime: Runtime, home: Path) -> None:
    instances = launch(runtime.aws, ENV, 2)
    config = ssh_config(ENV, served, "~/.config/opsbot/token", "ssm")

    subprocess.run(["/bin/sh", "-c", proxy_command(config, "my-env-2.2", "2222")], env=shell_env(home), timeout=20)

    assert (home.parent / "aws.args").read_text() == (
        f"ssm start-session --target {instances[1]['InstanceId']} "
        "--document-name AWS-StartSSHSession --parameters portNumber=2222\n"
    )


@pytest.mark.parametrize(
    "alias", ["my-env-2.x", "my-env-2.", "my-env-2.1x", "my-env-2.-1", "my-env-2.0", "my-env-2.21", "my-env-2.01"]
)
def test_proxy_command_refuses_an_alias_without_an_instance_number(alias: str, home: Path) -> None:
    config = ssh_config(ENV, "http://127.0.0.1:9", "~/.config/opsbot/token", "ip")
    done = subprocess.run(
        ["/bin/sh", "-c", proxy_command(config, alias)], env=shell_env(home), capture_output=True, text=True, timeout=20
    )
    assert done.returncode == 2
    assert done.stderr == "opsbot: use my-env-2.N, N = 1 to 20 (1 = the oldest instance)\n"
    assert not (home.parent / "nc.args").exists()


@needs_curl
def test_proxy_command_fails_cleanly_when_the_bot_refuses(served: str, runtime: Runtime, home: Path) -> None:
    launch(runtime.aws, ENV, 1)
    config = ssh_config(ENV, served, "~/.config/opsbot/token", "ip")
    done = subprocess.run(
        ["/bin/sh", "-c", proxy_command(config, "my-env-2.5")], env=shell_env(home), capture_output=True, timeout=20
    )
    assert done.returncode == 1
    assert b"404" in done.stderr
    assert not (home.parent / "nc.args").exists()


@needs_curl
def test_token_reply_use_it_line_works_and_keeps_the_token_out_of_argv(
    served: str, runtime: Runtime, ctx: CommandContext, home: Path
) -> None:
    instances = launch(runtime.aws, ENV, 2)
    ctx = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, public_url=served))
    reply = run_command(COMMAND, "token", ctx)
    (token,) = set(re.findall(r"opsbot_[A-Za-z0-9_-]{20,}", reply.text))
    lines = unescape(reply.text).splitlines()  # as a reader copies it out of Slack
    save = next(line for line in lines if line.startswith("Save it:")).removeprefix("Save it:")
    use = next(line for line in lines if line.startswith("Use it:")).removeprefix("Use it:").replace("ENV", ENV)
    spy_programs(home.parent / "bin", "curl", "cat", "printf")

    subprocess.run(["/bin/sh", "-c", save], env=shell_env(home), check=True, timeout=20)
    done = subprocess.run(["/bin/sh", "-c", use], env=shell_env(home), capture_output=True, text=True, timeout=20)

    assert done.returncode == 0
    assert done.stdout == "".join(f"{i['PublicIpAddress']}\n" for i in instances)
    assert (home / ".config/opsbot/token").read_text() == f"{token}\n"
    assert all(token not in path.read_text() for path in home.parent.glob("*.argv"))
    assert not (home.parent / "printf.argv").exists()
    assert (home.parent / "curl.stdin").read_text() == f"Authorization: Bearer {token}\n"
    assert "the token never shows in the process list" in reply.text


@needs_curl
@pytest.mark.skipif(shutil.which("ssh") is None, reason="OpenSSH client not installed")
def test_openssh_itself_runs_the_block(served: str, runtime: Runtime, home: Path) -> None:
    instances = launch(runtime.aws, ENV, 3)
    config_file = home / "ssh_config"
    config_file.write_text(ssh_config(ENV, served, "~/.config/opsbot/token", "ip"))

    subprocess.run(
        ["ssh", "-F", str(config_file), "-o", "BatchMode=yes", "-p", "2200", "deploy@my-env-2.3", "true"],
        env=shell_env(home), capture_output=True, timeout=20,
    )  # fmt: skip

    # The stand-in nc closes at once, so ssh fails after the ProxyCommand chose the instance.
    assert (home.parent / "nc.args").read_text() == f"{instances[2]['PublicIpAddress']} 2200\n"


class _DenyingEc2(BaseHTTPRequestHandler):
    """AWS that refuses: EC2's answer to a role without ec2:DescribeInstances."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = (
            b'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code>'
            b"<Message>You are not authorized to perform this operation.</Message></Error></Errors>"
            b"<RequestID>r-1</RequestID></Response>"
        )
        self.send_response(403)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@needs_curl
def test_proxy_command_lookup_gets_a_one_line_502_when_aws_refuses(
    runtime: Runtime, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws = ThreadingHTTPServer(("127.0.0.1", 0), _DenyingEc2)
    threading.Thread(target=aws.serve_forever, daemon=True).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{aws.server_port}")  # read as clients are built
    try:
        with serving(dataclasses.replace(runtime, aws=AwsClients())) as url:
            config = ssh_config(ENV, url, "~/.config/opsbot/token", "ip")
            done = subprocess.run(
                ["/bin/sh", "-c", proxy_command(config, "my-env-2.1")], env=shell_env(home), capture_output=True,
                timeout=20,
            )  # fmt: skip
            status, body = fetch(f"{url}/eb/{ENV}/ip/1", (home / ".config/opsbot/token").read_text().strip())
    finally:
        aws.shutdown()
        aws.server_close()

    assert done.returncode == 1 and b"502" in done.stderr
    assert not (home.parent / "nc.args").exists()
    assert status == 502 and body.count("\n") == 1
    assert "ec2:DescribeInstances" in body
