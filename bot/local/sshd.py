"""A local OpenSSH server for the tests and the demo: `sshd` on a free loopback port, with its own host key,
one authorized key and, if asked, a bare git repository reachable through it. Stopped by pid.

Only the server's files are written (its host key, config, authorized_keys, the repository): the client's
private key stays with the caller, in memory.
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

SSHD_CANDIDATES = ("/usr/sbin/sshd", "/usr/local/sbin/sshd", "/sbin/sshd")


class SshdUnavailable(RuntimeError):
    """sshd is not installed or will not start here; the message says why (tests skip with it)."""


@dataclass(frozen=True)
class MemoryKey:
    """A client key pair that only exists in this process: its OpenSSH private text and public line."""

    private_text: str
    public_line: str


def new_key(kind: str = "ed25519", fmt: str = "openssh", passphrase: str | None = None) -> MemoryKey:
    """An Ed25519, ECDSA (P-256) or RSA key, as OpenSSH or PEM (traditional for RSA/EC, PKCS#8 for Ed25519)."""
    private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa":
        private = ec.generate_private_key(ec.SECP256R1())
    elif kind == "rsa":
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        raise ValueError(kind)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode()) if passphrase else serialization.NoEncryption()
    )
    if fmt == "openssh":
        form = serialization.PrivateFormat.OpenSSH
    elif kind == "ed25519":
        form = serialization.PrivateFormat.PKCS8  # Ed25519 has no traditional PEM form
    else:
        form = serialization.PrivateFormat.TraditionalOpenSSL
    text = private.private_bytes(serialization.Encoding.PEM, form, encryption).decode()
    public = private.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return MemoryKey(text, public.decode() + " opsbot-test")


def find_sshd() -> str:
    found = shutil.which("sshd") or next((p for p in SSHD_CANDIDATES if os.access(p, os.X_OK)), None)
    if not found:
        raise SshdUnavailable("OpenSSH's sshd is not installed (Debian: apt-get install openssh-server)")
    return found


@dataclass(frozen=True)
class LocalSshd:
    host: str
    port: int
    user: str
    host_key_line: str  # "ssh-ed25519 AAAA…"
    directory: Path
    pid: int

    @property
    def known_hosts(self) -> str:
        """The known_hosts line for this server as clients look it up (`[host]:port` off port 22)."""
        return f"[{self.host}]:{self.port} {self.host_key_line}\n"

    def bare_repository(self, name: str = "archive.git", *, initial_commit: bool = True) -> Path:
        """A bare repository under the server's directory, with one commit on `main` unless told otherwise."""
        bare = self.directory / name
        _git("init", "-q", "--bare", "-b", "main", str(bare))
        if initial_commit:
            seed = Path(tempfile.mkdtemp(dir=self.directory, prefix="seed-"))
            _git("clone", "-q", str(bare), str(seed))
            (seed / "README.md").write_text("archive\n")
            _git("-C", str(seed), "add", "README.md")
            _git("-C", str(seed), "commit", "-q", "-m", "first")
            _git("-C", str(seed), "push", "-q", "origin", "HEAD:main")
            shutil.rmtree(seed)
        return bare


def _git(*args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Someone Else",
        "GIT_AUTHOR_EMAIL": "someone@example.com",
        "GIT_COMMITTER_NAME": "Someone Else",
        "GIT_COMMITTER_EMAIL": "someone@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
        "HOME": tempfile.gettempdir(),
    }
    done = subprocess.run(["git", *args], capture_output=True, text=True, env=env, timeout=60, check=False)
    if done.returncode:
        raise RuntimeError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def git(*args: str) -> str:
    """The git CLI, as another engineer would run it (tests verify pushes with it)."""
    return _git(*args)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(directory: Path, port: int, extra: Sequence[str]) -> str:
    lines = [
        f"Port {port}",
        "ListenAddress 127.0.0.1",
        f"HostKey {directory / 'host_ed25519'}",
        f"PidFile {directory / 'sshd.pid'}",
        f"AuthorizedKeysFile {directory / 'authorized_keys'}",
        "StrictModes no",  # the test's temporary directory is not the user's home
        "PubkeyAuthentication yes",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "UsePAM no",
        "PermitRootLogin prohibit-password",
        "AllowTcpForwarding yes",
        "LogLevel ERROR",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def _wait_for_banner(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
            raise SshdUnavailable(f"sshd exited at start ({proc.returncode}): {err[:300]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(8).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.05)
    raise SshdUnavailable("sshd did not answer within 10 seconds")


@contextmanager
def local_sshd(authorized: Sequence[str], extra_config: Sequence[str] = ()) -> Iterator[LocalSshd]:
    """sshd on 127.0.0.1 (a free port) letting the current user in with the `authorized` public key lines."""
    directory = Path(tempfile.mkdtemp(prefix="opsbot-sshd-"))
    try:
        try:
            server, proc = _start(directory, authorized, extra_config)
        except (OSError, subprocess.SubprocessError) as exc:
            raise SshdUnavailable(f"could not start sshd: {exc}") from exc
        try:
            yield server
        finally:
            _stop(proc.pid)
            proc.wait(timeout=10)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _start(
    directory: Path, authorized: Sequence[str], extra_config: Sequence[str]
) -> tuple[LocalSshd, subprocess.Popen[bytes]]:
    sshd = find_sshd()
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)  # its privilege separation directory
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "host_ed25519")],
        check=True,
        capture_output=True,
        timeout=30,
    )
    (directory / "authorized_keys").write_text("".join(line.strip() + "\n" for line in authorized))
    host_key = " ".join((directory / "host_ed25519.pub").read_text().split()[:2])
    for attempt in range(3):  # another process may take the free port before sshd binds it
        port = _free_port()
        (directory / "sshd_config").write_text(_config(directory, port, extra_config))
        proc = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(directory / "sshd_config")],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            _wait_for_banner(port, proc, time.monotonic() + 10)
        except SshdUnavailable:
            _stop(proc.pid)
            proc.wait(timeout=10)
            if attempt == 2:
                raise
            continue
        return LocalSshd("127.0.0.1", port, getpass.getuser(), host_key, directory, proc.pid), proc
    raise SshdUnavailable("sshd did not start")


def _stop(pid: int) -> None:
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
