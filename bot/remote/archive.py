"""The one call a feature makes to archive files: `archive_files(ctx, files, message)` -> the commit and branch.

Safe to import at a feature's top: paramiko and dulwich load only when an archive is made. /lambda-capacity
archive uses it; /scores archive is meant to (history CSV, charts, a Markdown summary: any path -> bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from bot.command import CommandContext, CommandError
from bot.settings import SettingsError

if TYPE_CHECKING:
    from bot.remote.git import ArchiveCommit


def archive_files(
    ctx: CommandContext, files: Mapping[str, bytes], message: str, *, branch: str | None = None
) -> ArchiveCommit:
    """Commit `files` (repository path -> content) in one commit on `branch` (default `[remote.git] branch`)."""
    from bot.remote.config import branch_name, remote_settings
    from bot.remote.git import commit_files
    from bot.remote.keys import fetch_known_hosts, fetch_private_key

    try:
        remote = remote_settings(ctx.settings)
        if branch is not None:
            branch_name(branch)
    except SettingsError as exc:
        raise CommandError(f"Archiving is not configured: {exc}") from None
    if remote.git is None:
        raise CommandError("Archiving is not configured: OPSBOT_CONFIG has no [remote.git] repository.")
    key, host_keys = fetch_private_key(ctx.aws, remote), fetch_known_hosts(ctx.aws, remote)
    done = commit_files(remote.git, files, message, key=key, host_keys=host_keys, branch=branch)
    ctx.store.audit(ctx.user_id, "archive", repository=remote.git.repository, branch=done.branch, commit=done.commit_id)
    return done
