"""The bot's key: every type and format recognised unasked, fetched from moto's S3 under SSE-KMS, never on disk."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import threading
from pathlib import Path

import paramiko
import pytest

from bot.aws import AwsClients
from bot.local.sshd import LocalSshd, MemoryKey, new_key
from bot.remote.config import Endpoint, RemoteSettings
from bot.remote.keys import KeyUnusable, fetch_known_hosts, fetch_private_key, load_private_key, parse_known_hosts
from bot.remote.ssh import run_command, ssh_session
from tests.bot.remote.conftest import KEY_OBJECT, remote_for, store_key

KINDS = [(kind, fmt) for kind in ("ed25519", "ecdsa", "rsa") for fmt in ("openssh", "pem")]
EXPECTED = {"ed25519": paramiko.Ed25519Key, "ecdsa": paramiko.ECDSAKey, "rsa": paramiko.RSAKey}


@pytest.mark.parametrize(("kind", "fmt"), KINDS)
def test_each_key_type_and_format_is_recognised_without_being_told(kind: str, fmt: str) -> None:
    key = new_key(kind, fmt)
    loaded = load_private_key(key.private_text)
    assert isinstance(loaded, EXPECTED[kind])
    assert loaded.get_base64() == key.public_line.split()[1]


@pytest.mark.parametrize(("kind", "fmt"), KINDS)
def test_each_key_type_logs_into_a_real_sshd(kind: str, fmt: str, sshd: LocalSshd) -> None:
    key = new_key(kind, fmt)
    (sshd.directory / "authorized_keys").write_text(key.public_line + "\n")
    target = Endpoint(sshd.host, sshd.port, sshd.user)
    with ssh_session(target, load_private_key(key.private_text), parse_known_hosts(sshd.known_hosts)) as client:
        assert run_command(client, "echo in", 10).output == b"in\n"


def test_an_encrypted_key_opens_with_its_passphrase_and_says_so_without_one() -> None:
    key = new_key("ed25519", "openssh", passphrase="correct horse")
    assert isinstance(load_private_key(key.private_text, "correct horse"), paramiko.Ed25519Key)
    with pytest.raises(KeyUnusable, match=r"encrypted and no passphrase is configured"):
        load_private_key(key.private_text)
    with pytest.raises(KeyUnusable, match=r"passphrase is wrong"):
        load_private_key(key.private_text, "wrong")


def test_garbage_and_a_public_key_are_refused_without_echoing_them() -> None:
    for text in ("not a key", new_key().public_line):
        with pytest.raises(KeyUnusable) as refused:
            load_private_key(text)
        assert text not in str(refused.value)


def test_the_key_is_fetched_from_s3_under_sse_kms_with_its_passphrase_from_ssm(
    aws_clients: AwsClients, moto: str
) -> None:
    key = new_key("ecdsa", "pem", passphrase="from ssm")
    stored = store_key(aws_clients, key.private_text)
    head = aws_clients.client("s3").head_object(Bucket="ops-secrets", Key=KEY_OBJECT)
    assert head["ServerSideEncryption"] == "aws:kms"
    assert stored["kms_key_id"] in head["SSEKMSKeyId"]
    aws_clients.client("ssm").put_parameter(Name="/opsbot/ssh-pass", Value="from ssm", Type="SecureString")
    remote = RemoteSettings.from_table(
        {"key": stored["key"], "key_passphrase_parameter": "/opsbot/ssh-pass", "known_hosts": "x ssh-ed25519 AAAA"}
    )
    loaded = fetch_private_key(aws_clients, remote)
    assert loaded.get_base64() == key.public_line.split()[1]


def test_a_key_object_without_sse_kms_is_refused(aws_clients: AwsClients, moto: str) -> None:
    stored = store_key(aws_clients, new_key().private_text, kms=False)
    remote = RemoteSettings.from_table({"key": stored["key"], "known_hosts": "x ssh-ed25519 AAAA"})
    with pytest.raises(KeyUnusable, match=r"is not encrypted with SSE-KMS; upload it again with `--sse aws:kms"):
        fetch_private_key(aws_clients, remote)


def test_known_hosts_come_from_the_text_and_an_s3_object(aws_clients: AwsClients, moto: str) -> None:
    a, b = new_key(), new_key("ecdsa")
    aws_clients.client("s3").create_bucket(Bucket="ops-config")
    aws_clients.client("s3").put_object(Bucket="ops-config", Key="known_hosts", Body=f"[h2]:2222 {b.public_line}\n")
    remote = RemoteSettings.from_table(
        {
            "key": "s3://ops-config/k",
            "known_hosts": f"h1 {a.public_line}\n# comment\nbroken line\n",
            "known_hosts_object": "s3://ops-config/known_hosts",
        }
    )
    keys = fetch_known_hosts(aws_clients, remote)
    assert keys.lookup("h1") is not None
    assert keys.lookup("[h2]:2222") is not None
    assert keys.lookup("h3") is None


def _files_holding(secret: bytes, roots: list[Path]) -> list[str]:
    found = []
    for root in roots:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                path = Path(dirpath, name)
                try:
                    if path.is_file() and secret in path.read_bytes():
                        found.append(str(path))
                except OSError:
                    continue
    return found


def test_the_key_is_never_on_disk_nor_in_an_open_file(
    aws_clients: AwsClients, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    store_key(aws_clients, client_key.private_text)
    remote = remote_for(sshd)
    # A line from the middle of the key: in no file a test or sshd wrote on purpose.
    secret = client_key.private_text.splitlines()[2].encode()
    key = fetch_private_key(aws_clients, remote)
    target = Endpoint(sshd.host, sshd.port, sshd.user)
    with ssh_session(target, key, parse_known_hosts(remote.known_hosts)) as client:
        assert run_command(client, "true", 10).exit_status == 0
        open_files = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                target_path = os.readlink(f"/proc/self/fd/{fd}")
            except OSError:
                continue
            if target_path.startswith("/") and os.path.isfile(target_path):
                open_files.append(Path(target_path))
        in_open_files = [str(p) for p in open_files if p.stat().st_size < 50_000_000 and secret in p.read_bytes()]
        assert in_open_files == []
    roots = [Path(p) for p in {tempfile.gettempdir(), "/tmp", "/var/tmp", "/dev/shm", os.getcwd()} if os.path.isdir(p)]
    assert _files_holding(secret, roots) == []


_FILE_WRITES: list[tuple[str, object]] = []
_WATCHING = threading.Event()
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC


def _record_file_writes(event: str, args: tuple[object, ...]) -> None:
    if not _WATCHING.is_set():
        return
    if event == "open":
        path, mode, flags = args
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        ):
            _FILE_WRITES.append((event, path))
    elif event in ("os.remove", "os.rename", "os.truncate", "os.link", "os.symlink"):
        _FILE_WRITES.append((event, args[0]))


@functools.cache  # an audit hook stays for the process's life: one is enough
def _watch_file_writes() -> None:
    sys.addaudithook(_record_file_writes)


def test_no_file_is_written_or_removed_while_the_key_is_fetched_and_used(
    aws_clients: AwsClients, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    # The test above sees only files still there; a key written to a temporary file and deleted after
    # use leaves none. Python's audit events see every open for writing and every removal, in any thread.
    store_key(aws_clients, client_key.private_text)
    remote = remote_for(sshd)
    _watch_file_writes()
    _FILE_WRITES.clear()
    _WATCHING.set()
    try:
        key = fetch_private_key(aws_clients, remote)
        with ssh_session(Endpoint(sshd.host, sshd.port, sshd.user), key, parse_known_hosts(remote.known_hosts)) as c:
            assert run_command(c, "true", 10).exit_status == 0
    finally:
        _WATCHING.clear()
    assert _FILE_WRITES == []
