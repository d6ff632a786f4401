"""Commit files to a branch of a repository over SSH with dulwich, with no `git` or `ssh` binary and no disk.

The branch's head is fetched shallow (depth 1, or whole where the server refuses shallow) into a
`MemoryRepo`; the files are written into its tree, committed with the bot's identity and pushed. The push
names the head it was built on: if someone else pushed in between (or held git's ref lock at that moment),
the commit is rebuilt on the new head and pushed again, a few times with a random pause, then the failure is
reported. dulwich's own paramiko vendor is gone (dulwich >= 1.2),
so `KeySshVendor` is a small one on bot.remote.ssh: the same in-memory key, the same strict host keys.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

import paramiko
from dulwich.client import SSHGitClient, SSHVendor
from dulwich.errors import GitProtocolError, HangupException
from dulwich.object_store import commit_tree_changes
from dulwich.objects import Blob, Commit, Tree
from dulwich.repo import MemoryRepo

from bot.command import CommandError
from bot.remote.config import Endpoint, GitTarget
from bot.remote.ssh import ssh_session

ZERO_SHA = b"0" * 40
FILE_MODE = 0o100644
PUSH_ATTEMPTS = 5  # concurrent archives to one branch: each loser rebuilds on the winner's head
# What receive-pack says when the ref moved or was locked by another push after it was advertised.
_RACE_STATUSES = ("lock", "stale", "fetch first", "failed to update ref", "non-fast-forward")


class BranchMoved(Exception):
    """The branch is no longer where the commit was built on (the server's status, if it said so)."""


@dataclass(frozen=True)
class ArchiveCommit:
    commit_id: str
    branch: str
    repository: str
    retried: bool = False  # someone else pushed first; the commit was rebuilt on their head


class _ChannelConnection:
    """What dulwich reads and writes a git command through: one SSH channel (and its client, closed after)."""

    def __init__(self, stack: ExitStack, channel: paramiko.Channel) -> None:
        self._stack, self._channel = stack, channel

    def read(self, n: int | None = None) -> bytes:
        if n is None:  # everything until the command's end
            return b"".join(iter(lambda: self._channel.recv(65536), b""))
        data = bytearray()
        while len(data) < n:
            chunk = self._channel.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    def write(self, data: bytes) -> None:
        self._channel.sendall(data)

    def can_read(self) -> bool:
        return bool(self._channel.recv_ready())

    def close(self, timeout: int | None = None) -> None:
        self._stack.close()


class KeySshVendor(SSHVendor):
    """dulwich's SSH vendor on the bot's key and known hosts; no keys from files, no agent, no ssh binary."""

    def __init__(self, key: paramiko.PKey, host_keys: paramiko.HostKeys, *, timeout: float = 30.0) -> None:
        self._key, self._host_keys, self._timeout = key, host_keys, timeout

    def run_command(
        self,
        host: str,
        command: bytes,
        username: str | None = None,
        port: int | None = None,
        password: str | None = None,
        key_filename: str | None = None,
        ssh_command: str | None = None,
        protocol_version: int | None = None,
    ) -> Any:
        stack = ExitStack()
        try:
            target = Endpoint(host, port or 22, username or "git")
            client = stack.enter_context(ssh_session(target, self._key, self._host_keys, timeout=self._timeout))
            transport = client.get_transport()
            assert transport is not None
            channel = transport.open_session(timeout=self._timeout)
            stack.callback(channel.close)
            channel.settimeout(self._timeout)
            channel.exec_command(command.decode())
        except BaseException:
            stack.close()
            raise
        return _ChannelConnection(stack, channel)


def _parse_repository(url: str) -> tuple[Endpoint, str]:
    parts = urlsplit(url)
    if parts.scheme != "ssh" or not parts.hostname or not parts.path:
        raise CommandError(f"The repository {url} is not an ssh:// URL.")
    return Endpoint(parts.hostname, parts.port or 22, unquote(parts.username or "git")), parts.path


def check_path(path: str) -> bytes:
    parts = path.split("/")
    if not path or path.startswith("/") or any(p in ("", ".", "..", ".git") for p in parts) or "\\" in path:
        raise ValueError(f"not a file path inside a repository: {path!r}")
    return path.encode()


def _fetch(client: SSHGitClient, path: str, repo: MemoryRepo, ref: bytes) -> tuple[bytes | None, bytes | None]:
    """The branch's head on the remote (None: no such branch) and the commit to build on (its head, else HEAD's)."""
    seen: dict[bytes, bytes] = {}

    def wants(refs: Mapping[bytes, bytes], depth: int | None = None) -> list[bytes]:
        seen.update(refs)
        base = refs.get(ref) or refs.get(b"HEAD")
        return [base] if base and base != ZERO_SHA else []

    try:
        client.fetch(path, repo, determine_wants=wants, depth=1)  # type: ignore[arg-type]
    except GitProtocolError as exc:
        if "shallow" not in str(exc):
            raise
        client.fetch(path, repo, determine_wants=wants)  # type: ignore[arg-type]
    head = seen.get(ref)
    base = head or seen.get(b"HEAD")
    return head, (base if base and base != ZERO_SHA else None)


def _commit(repo: MemoryRepo, base: bytes | None, files: Mapping[str, bytes], message: str, target: GitTarget) -> bytes:
    store = repo.object_store
    changes = []
    for name, content in sorted(files.items()):
        blob = Blob.from_string(content)
        store.add_object(blob)
        changes.append((check_path(name), FILE_MODE, blob.id))
    if base is None:
        empty = Tree()
        store.add_object(empty)
        tree = commit_tree_changes(store, empty.id, changes)
    else:
        tree = commit_tree_changes(store, repo[base].tree, changes)  # type: ignore[attr-defined]
    commit = Commit()
    commit.tree = tree
    commit.parents = [cast(Any, base)] if base else []  # dulwich's ObjectID is a NewType of bytes
    commit.author = commit.committer = f"{target.author_name} <{target.author_email}>".encode()
    commit.author_time = commit.commit_time = int(time.time())
    commit.author_timezone = commit.commit_timezone = 0
    commit.message = message.encode() + (b"" if message.endswith("\n") else b"\n")
    store.add_object(commit)
    return commit.id


def _push(client: SSHGitClient, path: str, repo: MemoryRepo, ref: bytes, expected: bytes | None, new: bytes) -> None:
    def update_refs(refs: dict[bytes, bytes]) -> dict[bytes, bytes]:
        if refs.get(ref, ZERO_SHA) != (expected or ZERO_SHA):
            raise BranchMoved()
        return {ref: new}

    def pack(have: Any, want: Any, *, ofs_delta: bool = False, progress: Any = None) -> Any:
        return repo.generate_pack_data(have, want, ofs_delta=ofs_delta, progress=progress)

    result = client.send_pack(path.encode(), update_refs, pack)  # type: ignore[arg-type]
    status = (result.ref_status or {}).get(ref)
    if not status:
        return
    if any(word in status for word in _RACE_STATUSES):
        raise BranchMoved(status[:200])  # the ref changed, or another push held it, after it was advertised
    raise CommandError(f"The repository refused the push to {ref.decode()}: {status[:200]}.")


def commit_files(
    target: GitTarget,
    files: Mapping[str, bytes],
    message: str,
    *,
    key: paramiko.PKey,
    host_keys: paramiko.HostKeys,
    branch: str | None = None,
    timeout: float = 30.0,
) -> ArchiveCommit:
    """Write `files` (path in the repository -> content) on `branch` in one commit and push it.

    The branch is created from the remote's HEAD when it does not exist yet (or as a root commit in an empty
    repository). A push that finds the branch moved is rebuilt on the new head and retried, PUSH_ATTEMPTS in all.
    """
    for name in files:
        check_path(name)
    endpoint, path = _parse_repository(target.repository)
    name = branch or target.branch
    ref = f"refs/heads/{name}".encode()
    client = SSHGitClient(
        endpoint.host, port=endpoint.port, username=endpoint.user, vendor=KeySshVendor(key, host_keys, timeout=timeout)
    )
    for attempt in range(1, PUSH_ATTEMPTS + 1):
        repo = MemoryRepo()
        try:
            head, base = _fetch(client, path, repo, ref)
            commit = _commit(repo, base, files, message, target)
            _push(client, path, repo, ref, head, commit)
        except BranchMoved as exc:
            if attempt == PUSH_ATTEMPTS:
                said = f" (the repository said: {exc})" if str(exc) else ""
                raise CommandError(
                    f"Branch {name} of {target.repository} moved again while the bot committed{said}; "
                    "nothing was pushed. Try again."
                ) from None
            time.sleep(random.uniform(0.05, 0.25) * attempt)  # apart, so racing archives do not meet again
            continue
        except (GitProtocolError, HangupException) as exc:
            raise CommandError(f"git over SSH to {endpoint.host} failed: {str(exc)[:200]}") from None
        return ArchiveCommit(commit.decode(), name, target.repository, retried=attempt > 1)
    raise AssertionError("unreachable")
