"""One command on a remote host over SSH (paramiko), with the bot's key and only the host keys it was given.

Host keys are checked strictly: a host not in the known hosts, or one offering another key than the known
one, is refused before authentication (no policy that adds or accepts new keys). An instance with only a private
address is reached through a bastion: a `direct-tcpip` channel on the bastion's connection carries the
instance's SSH session, so both host keys are checked and the key never leaves this process.
"""

from __future__ import annotations

import math
import shlex
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

import paramiko

from bot.command import CommandError
from bot.remote.config import Endpoint

MAX_OUTPUT_BYTES = 512 * 1024  # what a check may print before the rest is dropped (and said so)


class HostRefused(CommandError):
    """The bot would not talk to the host (unknown or changed host key) or could not log in."""


class _RefuseUnknownHost(paramiko.MissingHostKeyPolicy):
    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise HostRefused(
            f"{hostname} is not in the bot's known hosts (it offered {key.get_name()} {key.fingerprint}). "
            "Refusing to connect: add its key to [remote] known_hosts after checking it."
        )


@dataclass(frozen=True)
class CommandResult:
    exit_status: int | None  # None: it did not finish in time
    output: bytes  # stdout then stderr, as the host printed them
    seconds: float
    truncated: bool = False

    @property
    def timed_out(self) -> bool:
        return self.exit_status is None


def _connect(
    target: Endpoint, key: paramiko.PKey, host_keys: paramiko.HostKeys, timeout: float, sock: Any = None
) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    for name, by_type in host_keys.items():
        for key_type, host_key in by_type.items():
            client.get_host_keys().add(name, key_type, host_key)
    client.set_missing_host_key_policy(_RefuseUnknownHost())
    try:
        client.connect(
            target.host,
            port=target.port,
            username=target.user,
            pkey=key,
            sock=sock,
            timeout=timeout,
            banner_timeout=timeout,
            auth_timeout=timeout,
            channel_timeout=timeout,
            look_for_keys=False,  # only the bot's key: nothing from ~/.ssh, no agent
            allow_agent=False,
        )
    except paramiko.BadHostKeyException as exc:
        client.close()
        raise HostRefused(
            f"The host key of {target.host}:{target.port} has changed: it offered {exc.key.get_name()} "
            f"{exc.key.fingerprint}, the known hosts say {exc.expected_key.fingerprint}. Refusing to connect; "
            "if the host was replaced on purpose, update [remote] known_hosts."
        ) from None
    except paramiko.AuthenticationException:
        client.close()
        raise HostRefused(f"{target} refused the bot's key ({key.get_name()} {key.fingerprint}).") from None
    except HostRefused:
        client.close()
        raise
    except TimeoutError:
        client.close()
        raise CommandError(f"{target.host}:{target.port} did not answer within {timeout:g} s.") from None
    except (OSError, paramiko.SSHException) as exc:
        client.close()
        raise CommandError(f"Could not open SSH to {target.host}:{target.port}: {_reason(exc)}.") from None
    return client


@contextmanager
def ssh_session(
    target: Endpoint,
    key: paramiko.PKey,
    host_keys: paramiko.HostKeys,
    *,
    timeout: float = 10.0,
    bastion: Endpoint | None = None,
) -> Iterator[paramiko.SSHClient]:
    """A logged-in client to `target`, through `bastion` if given; both closed after."""
    with ExitStack() as stack:
        sock = None
        if bastion is not None:
            hop = _connect(bastion, key, host_keys, timeout)
            stack.callback(hop.close)
            transport = hop.get_transport()
            assert transport is not None
            try:
                sock = transport.open_channel(
                    "direct-tcpip", (target.host, target.port), ("127.0.0.1", 0), timeout=timeout
                )
            except (paramiko.ChannelException, paramiko.SSHException, OSError) as exc:
                raise CommandError(
                    f"The bastion {bastion.host} would not forward to {target.host}:{target.port}: {_reason(exc)}."
                ) from None
        client = _connect(target, key, host_keys, timeout, sock=sock)
        stack.callback(client.close)
        yield client


def run_command(client: paramiko.SSHClient, command: str, timeout: float) -> CommandResult:
    """Run `command`, collect its output (at most MAX_OUTPUT_BYTES) and exit status, or give up after `timeout`."""
    transport = client.get_transport()
    assert transport is not None
    started = time.monotonic()
    channel = transport.open_session(timeout=timeout)
    channel.set_combine_stderr(True)
    channel.exec_command(_stopped_on_the_host_after(command, timeout))
    channel.settimeout(0.2)
    output = bytearray()
    truncated = False
    try:
        while True:
            if time.monotonic() - started > timeout:
                return CommandResult(None, bytes(output), time.monotonic() - started, truncated)
            try:
                chunk = channel.recv(32 * 1024)
            except TimeoutError:
                continue
            if not chunk:
                break
            room = MAX_OUTPUT_BYTES - len(output)
            truncated = truncated or len(chunk) > room
            output += chunk[: max(room, 0)]
        left = max(0.1, timeout - (time.monotonic() - started))
        if not channel.status_event.wait(left):
            return CommandResult(None, bytes(output), time.monotonic() - started, truncated)
        return CommandResult(channel.recv_exit_status(), bytes(output), time.monotonic() - started, truncated)
    finally:
        channel.close()


def _stopped_on_the_host_after(command: str, timeout: float) -> str:
    """`command` under the host's own `timeout`: closing the channel does not stop a command that
    prints nothing (it would run on, its parent now pid 1). No PTY instead (whose hang-up would stop
    it): with one, programs page (`systemctl status`), colour and end lines with CR LF. The host's
    limit is a second longer than the bot's, so the bot's own "timed out" comes first."""
    seconds = math.ceil(timeout) + 1
    quoted = shlex.quote(command)
    # GNU/busybox `timeout` signals the command's whole process group, so its children stop too. The
    # command still runs in the login shell (bash on most hosts), as it did without the wrapper.
    shell = '"${SHELL:-/bin/sh}"'
    return (
        f"if command -v timeout >/dev/null 2>&1; then exec timeout -k 5 {seconds} {shell} -c {quoted}; "
        f"else exec {shell} -c {quoted}; fi"
    )


def _reason(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:200].rstrip(".")
