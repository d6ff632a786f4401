"""`/lambda-capacity archive`: the latest cached report committed as Markdown and JSON to a bare repository behind
a real sshd, with the key from moto's S3 under SSE-KMS; checked with the git CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext, run_command
from bot.local.seeds_capacity import demo_account
from bot.local.sshd import LocalSshd, MemoryKey, git, new_key
from bot.settings import load_settings
from bot.state import Store
from commands.lambda_capacity import COMMAND
from tests.bot.remote.conftest import archive_config, store_key

KIB = 1024


@pytest.fixture
def client_key() -> MemoryKey:
    return new_key("rsa", "pem")


def make_ctx(tmp_path: Path, aws: AwsClients, store: Store, sshd: LocalSshd, bare: Path, user: str) -> CommandContext:
    config = tmp_path / "opsbot.toml"
    config.write_text(
        archive_config(sshd, bare, "capacity-reports") + "[commands.lambda-capacity]\nrate_per_second = 1000\n"
    )
    settings = load_settings({"OPSBOT_CONFIG": str(config), "OPSBOT_ADMINS": "UADMIN1"})
    return CommandContext(settings, aws, store, user_id=user, channel_id="COPS0001")


def test_archive_commits_the_latest_report_as_markdown_and_json_and_answers_with_commit_and_branch(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    demo_account(aws_clients).function("orders-api", [300 * KIB, 310 * KIB])
    store_key(aws_clients, client_key.private_text)
    bare = sshd.bare_repository()
    admin = make_ctx(tmp_path, aws_clients, store, sshd, bare, "UADMIN1")
    assert run_command(COMMAND, "archive", admin).text.startswith("There is no report for us-east-1 yet")
    assert run_command(COMMAND, "", admin).ok
    reply = run_command(COMMAND, "archive", admin)
    assert reply.ok, reply.text
    head = git("-C", str(bare), "rev-parse", "capacity-reports").strip()
    assert reply.text.endswith(f": commit `{head}` on `capacity-reports`.")
    names = git("-C", str(bare), "ls-tree", "-r", "--name-only", "capacity-reports").split()
    md = next(n for n in names if n.endswith(".md") and n.startswith("lambda-capacity/us-east-1/"))
    markdown = git("-C", str(bare), "show", f"capacity-reports:{md}")
    assert markdown.startswith("# Lambda code storage in us-east-1\n")
    assert "| orders-api |" in markdown
    data = json.loads(git("-C", str(bare), "show", f"capacity-reports:{md.removesuffix('.md')}.json"))
    assert data["region"] == "us-east-1"
    assert store.audit_log("archive")[0].detail["commit"] == head


def test_archive_is_for_admins_and_needs_a_repository(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str
) -> None:
    settings = load_settings({"OPSBOT_ADMINS": "UADMIN1"})
    user = CommandContext(settings, aws_clients, store, user_id="UUSER01")
    assert run_command(COMMAND, "archive", user).text.startswith("Only opsbot admins may archive capacity reports.")
    assert "`--top` is not an option here" in run_command(COMMAND, "archive --top 3", user).text
