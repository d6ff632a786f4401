"""dulwich over a real sshd to a bare repository; every push checked with the git CLI on the bare repository."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.command import CommandError
from bot.local.sshd import LocalSshd, MemoryKey, git
from bot.remote import git as remote_git
from bot.remote.config import GitTarget
from bot.remote.git import commit_files
from bot.remote.keys import load_private_key, parse_known_hosts


def target_for(sshd: LocalSshd, bare: Path, branch: str = "opsbot-archive") -> GitTarget:
    return GitTarget(f"ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}", branch, "opsbot", "opsbot@example.com")


def push(sshd: LocalSshd, key: MemoryKey, target: GitTarget, files: dict[str, bytes], message: str = "m") -> str:
    done = commit_files(
        target,
        files,
        message,
        key=load_private_key(key.private_text),
        host_keys=parse_known_hosts(sshd.known_hosts),
    )
    return done.commit_id


def someone_else_pushes(sshd: LocalSshd, bare: Path, branch: str, name: str) -> str:
    work = sshd.directory / f"other-{name}"
    git("clone", "-q", "-b", branch, str(bare), str(work))
    (work / name).write_text("theirs\n")
    git("-C", str(work), "add", name)
    git("-C", str(work), "commit", "-q", "-m", f"their {name}")
    git("-C", str(work), "push", "-q", "origin", branch)
    return git("-C", str(work), "rev-parse", "HEAD").strip()


def test_a_new_branch_is_committed_with_the_bots_identity_and_pushed_without_git_or_ssh_binaries(
    sshd: LocalSshd, client_key: MemoryKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = sshd.bare_repository()
    monkeypatch.setenv("PATH", "")  # as on Lambda: the client side needs no binary (sshd's side has its own PATH)
    commit = push(sshd, client_key, target_for(sshd, bare), {"reports/a.md": b"# A\n", "a.json": b"{}"}, "archive A")
    monkeypatch.undo()
    assert git("-C", str(bare), "rev-parse", "opsbot-archive").strip() == commit
    assert git("-C", str(bare), "log", "--format=%an <%ae>|%s", "-1", "opsbot-archive").strip() == (
        "opsbot <opsbot@example.com>|archive A"
    )
    assert git("-C", str(bare), "ls-tree", "-r", "--name-only", "opsbot-archive").split() == [
        "README.md",
        "a.json",
        "reports/a.md",
    ]
    assert git("-C", str(bare), "show", "opsbot-archive:reports/a.md") == "# A\n"
    assert (
        git("-C", str(bare), "rev-parse", "opsbot-archive~1").strip()
        == git("-C", str(bare), "rev-parse", "main").strip()
    )
    git("-C", str(bare), "fsck", "--strict")


def test_an_existing_branch_is_updated_and_an_empty_repository_gets_a_root_commit(
    sshd: LocalSshd, client_key: MemoryKey
) -> None:
    bare = sshd.bare_repository()
    first = push(sshd, client_key, target_for(sshd, bare), {"a.md": b"1\n"})
    second = push(sshd, client_key, target_for(sshd, bare), {"a.md": b"2\n", "b.md": b"b\n"})
    assert git("-C", str(bare), "rev-list", "opsbot-archive").split()[:2] == [second, first]
    assert git("-C", str(bare), "show", "opsbot-archive:a.md") == "2\n"
    empty = sshd.bare_repository("empty.git", initial_commit=False)
    root = push(sshd, client_key, target_for(sshd, empty), {"x.md": b"x\n"})
    assert git("-C", str(empty), "rev-list", "opsbot-archive").split() == [root]


def test_the_fetch_is_shallow(sshd: LocalSshd, client_key: MemoryKey, monkeypatch: pytest.MonkeyPatch) -> None:
    bare = sshd.bare_repository()
    for n in range(3):
        push(sshd, client_key, target_for(sshd, bare), {"n.md": f"{n}\n".encode()})
    fetched: list[int] = []
    original = remote_git._fetch

    def counting(client, path, repo, ref):  # type: ignore[no-untyped-def]
        result = original(client, path, repo, ref)
        fetched.append(sum(1 for sha in repo.object_store if repo.object_store[sha].type_name == b"commit"))
        return result

    monkeypatch.setattr(remote_git, "_fetch", counting)
    push(sshd, client_key, target_for(sshd, bare), {"n.md": b"last\n"})
    assert fetched == [1]  # only the head of a branch of four commits


def test_a_concurrent_push_is_rebuilt_on_the_new_head_and_retried_once(
    sshd: LocalSshd, client_key: MemoryKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = sshd.bare_repository()
    push(sshd, client_key, target_for(sshd, bare), {"ours.md": b"0\n"})
    original = remote_git._fetch
    theirs: list[str] = []

    def fetch_then_someone_pushes(client, path, repo, ref):  # type: ignore[no-untyped-def]
        result = original(client, path, repo, ref)
        if not theirs:  # between our clone and our push, once
            theirs.append(someone_else_pushes(sshd, bare, "opsbot-archive", "theirs.md"))
        return result

    monkeypatch.setattr(remote_git, "_fetch", fetch_then_someone_pushes)
    done = commit_files(
        target_for(sshd, bare),
        {"ours.md": b"1\n"},
        "ours",
        key=load_private_key(client_key.private_text),
        host_keys=parse_known_hosts(sshd.known_hosts),
    )
    assert done.retried
    assert git("-C", str(bare), "rev-parse", "opsbot-archive").strip() == done.commit_id
    assert git("-C", str(bare), "rev-parse", "opsbot-archive~1").strip() == theirs[0]  # theirs kept, ours on top
    assert git("-C", str(bare), "show", "opsbot-archive:theirs.md") == "theirs\n"
    assert git("-C", str(bare), "show", "opsbot-archive:ours.md") == "1\n"


def test_a_branch_that_moves_twice_is_reported_and_nothing_is_pushed(
    sshd: LocalSshd, client_key: MemoryKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = sshd.bare_repository()
    push(sshd, client_key, target_for(sshd, bare), {"ours.md": b"0\n"})
    original = remote_git._fetch
    pushed: list[str] = []

    def always_raced(client, path, repo, ref):  # type: ignore[no-untyped-def]
        result = original(client, path, repo, ref)
        pushed.append(someone_else_pushes(sshd, bare, "opsbot-archive", f"theirs{len(pushed)}.md"))
        return result

    monkeypatch.setattr(remote_git, "_fetch", always_raced)
    with pytest.raises(CommandError, match=r"^Branch opsbot-archive of ssh://.* moved again while the bot committed"):
        push(sshd, client_key, target_for(sshd, bare), {"ours.md": b"1\n"})
    assert len(pushed) == remote_git.PUSH_ATTEMPTS
    assert git("-C", str(bare), "rev-parse", "opsbot-archive").strip() == pushed[-1]


def test_paths_outside_the_tree_are_refused_before_connecting(client_key: MemoryKey) -> None:
    target = GitTarget("ssh://git@127.0.0.1:1/repo.git", "b")
    for bad in ("../x", "/etc/passwd", ".git/config", "a//b", ""):
        with pytest.raises(ValueError, match="not a file path inside a repository"):
            commit_files(
                target, {bad: b""}, "m", key=load_private_key(client_key.private_text), host_keys=parse_known_hosts("")
            )


def test_concurrent_archives_on_one_branch_all_land(sshd: LocalSshd, client_key: MemoryKey) -> None:
    # Real races, no stand-in: the pushes that lose git's ref lock, or find the ref moved, rebuild and retry.
    bare = sshd.bare_repository()
    push(sshd, client_key, target_for(sshd, bare), {"first.md": b"0\n"})
    archives = 4  # fewer than PUSH_ATTEMPTS: each loss is to a push that landed
    barrier = threading.Barrier(archives)
    errors: list[str] = []

    def archive(n: int) -> None:
        barrier.wait()
        try:
            push(sshd, client_key, target_for(sshd, bare), {f"run-{n}.md": f"{n}\n".encode()}, f"run {n}")
        except CommandError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=archive, args=(n,)) for n in range(archives)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    names = git("-C", str(bare), "ls-tree", "-r", "--name-only", "opsbot-archive").split()
    assert {f"run-{n}.md" for n in range(archives)} <= set(names)
    assert git("-C", str(bare), "rev-list", "--count", "opsbot-archive").strip() == str(archives + 2)


def test_a_push_that_loses_the_ref_lock_is_rebuilt_and_retried(
    sshd: LocalSshd, client_key: MemoryKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = sshd.bare_repository()
    push(sshd, client_key, target_for(sshd, bare), {"ours.md": b"0\n"})
    lock = bare / "refs" / "heads" / "opsbot-archive.lock"
    lock.write_text("another push holds git's ref lock\n")  # as a concurrent receive-pack does, for a moment
    original = remote_git._push
    tries: list[str] = []

    def push_then_the_other_push_ends(*args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original(*args, **kwargs)
        finally:
            tries.append("locked" if lock.exists() else "free")
            lock.unlink(missing_ok=True)

    monkeypatch.setattr(remote_git, "_push", push_then_the_other_push_ends)
    done = commit_files(
        target_for(sshd, bare),
        {"ours.md": b"1\n"},
        "ours",
        key=load_private_key(client_key.private_text),
        host_keys=parse_known_hosts(sshd.known_hosts),
    )
    assert tries == ["locked", "free"] and done.retried
    assert git("-C", str(bare), "rev-parse", "opsbot-archive").strip() == done.commit_id
    assert git("-C", str(bare), "show", "opsbot-archive:ours.md") == "1\n"
