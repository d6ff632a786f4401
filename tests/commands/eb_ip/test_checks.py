"""`/eb-ip <env> <n> run <check>` end to end: moto's EC2 resolves the instance, the bot's key comes from moto's S3
under SSE-KMS, and a real sshd on loopback runs the check.

moto lets an instance have the private address 127.0.0.1 and no public one, so the instance as /eb-ip resolves
it is reached exactly as in production: through the configured bastion (the same local sshd), whose
`direct-tcpip` channel leads to 127.0.0.1 on the sshd's port. The public-address path is the same session
without the bastion, tested in tests/bot/remote/test_ssh.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext, run_command
from bot.local.sshd import LocalSshd, MemoryKey, new_key
from bot.reply import Reply
from bot.settings import load_settings
from bot.state import Store
from commands.eb_ip import COMMAND
from commands.eb_ip.instances import EB_TAG
from tests.bot.remote.conftest import store_key

ADMIN, ENGINEER, ONCALL = "UADMIN1", "UENG0001", "UONCALL1"


@pytest.fixture
def client_key() -> MemoryKey:
    return new_key("ecdsa")


def write_config(path: Path, server: LocalSshd | None, *, known_hosts: str | None = None, bastion: bool = True) -> Path:
    port = server.port if server else 2
    known = known_hosts if known_hosts is not None else (server.known_hosts if server else "h ssh-ed25519 AAAA")
    lines = [
        "[remote]",
        'key = "s3://ops-secrets/opsbot/id_ed25519"',
        f"known_hosts = {json.dumps(known)}",
        f'user = "{server.user if server else "ec2-user"}"',
        f"port = {port}",
        "connect_timeout_seconds = 5",
    ]
    if bastion:
        lines.append(f'bastion = "127.0.0.1:{port}"')
    lines += [
        "[commands.eb-ip]",
        f'check_users = ["{ONCALL}"]',
        "check_timeout_seconds = 5",
        "[commands.eb-ip.checks]",
        'uptime = "echo up 3 days"',
        'failing = "echo broken >&2; exit 2"',
        'long = "seq 1 500"',
        'sleepy = "sleep 30"',
    ]
    config = path / "opsbot.toml"
    config.write_text("\n".join(lines) + "\n")
    return config


def make_ctx(config: Path, aws: AwsClients, store: Store, user: str = ADMIN) -> CommandContext:
    settings = load_settings({"OPSBOT_CONFIG": str(config), "OPSBOT_ADMINS": ADMIN})
    return CommandContext(settings, aws, store, user_id=user, channel_id="COPS0001")


def seed_private_instance(aws: AwsClients, env: str = "shop-prod") -> str:
    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="127.0.0.0/24")["Subnet"]["SubnetId"]
    nic = {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": False, "PrivateIpAddress": "127.0.0.1"}
    tags = [{"ResourceType": "instance", "Tags": [{"Key": EB_TAG, "Value": env}]}]
    reply = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, NetworkInterfaces=[nic], TagSpecifications=tags
    )
    return str(reply["Instances"][0]["InstanceId"])


def run(ctx: CommandContext, text: str) -> Reply:
    return run_command(COMMAND, text, ctx)


def test_a_check_runs_on_the_instance_through_the_bastion_and_is_audited(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    store_key(aws_clients, client_key.private_text)
    instance = seed_private_instance(aws_clients)
    ctx = make_ctx(write_config(tmp_path, sshd), aws_clients, store, user=ONCALL)
    reply = run(ctx, "shop-prod 1 run uptime")
    assert reply.ok, reply.text
    assert reply.text.splitlines() == [
        f"`uptime` on shop-prod #1 ({instance}, 127.0.0.1 via the bastion 127.0.0.1): exit status 0",
        "up 3 days",
    ]
    assert "```up 3 days```" in json.dumps(reply.blocks)
    entry = store.audit_log("eb-ip.run")[0]
    assert (entry.user_id, entry.detail["check"], entry.detail["outcome"]) == (ONCALL, "uptime", "exit 0")
    assert entry.detail["instance"] == instance


def test_a_failing_check_shows_its_exit_status_and_long_output_goes_as_a_file(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    store_key(aws_clients, client_key.private_text)
    seed_private_instance(aws_clients)
    ctx = make_ctx(write_config(tmp_path, sshd), aws_clients, store)
    failing = run(ctx, "shop-prod 1 run failing")
    assert not failing.ok
    assert failing.text.endswith("exit status 2\nbroken")
    long = run(ctx, "shop-prod 1 RUN long")
    assert [f.filename for f in long.files] == [f"long-{seed_instance_id(aws_clients)}.txt"]
    assert long.files[0].content.decode().split() == [str(i) for i in range(1, 501)]
    assert "500 lines of output" in json.dumps(long.blocks)
    sleepy = run(ctx, "shop-prod 1 run sleepy")
    assert "timed out after 5 s" in sleepy.text
    assert [e.detail["outcome"] for e in store.audit_log("eb-ip.run")] == ["timeout", "exit 0", "exit 2"]


def seed_instance_id(aws: AwsClients) -> str:
    pages = aws.client("ec2").describe_instances(Filters=[{"Name": f"tag:{EB_TAG}", "Values": ["shop-prod"]}])
    return str(pages["Reservations"][0]["Instances"][0]["InstanceId"])


def test_a_check_not_in_the_map_is_refused_before_any_aws_call_or_connection(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str
) -> None:
    # No instance, no key, no sshd: reaching any of them would answer differently.
    ctx = make_ctx(write_config(tmp_path, None), aws_clients, store)
    reply = run(ctx, "shop-prod 1 run rm")
    assert not reply.ok
    assert reply.text.startswith("`rm` is not a configured check.\nUsage: `/eb-ip")
    assert reply.text.endswith("\nChecks for `run CHECK`: `failing`, `long`, `sleepy`, `uptime`.")
    unnamed = run(ctx, "shop-prod 1 run").text
    assert unnamed.startswith("Say which check to run: `/eb-ip my-env 2 run NAME`.\nUsage:")
    assert unnamed.endswith("Checks for `run CHECK`: `failing`, `long`, `sleepy`, `uptime`.")
    assert "is not a check name" in run(ctx, "shop-prod 1 run df;reboot").text
    assert store.audit_log("eb-ip.run") == []


def test_only_admins_and_check_users_may_run_checks(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str
) -> None:
    ctx = make_ctx(write_config(tmp_path, None), aws_clients, store, user=ENGINEER)
    reply = run(ctx, "shop-prod 1 run uptime")
    assert reply.text == "Only opsbot admins (or the users in check_users) may run checks on instances."


def test_an_unknown_host_key_is_refused_with_a_clear_message(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str, sshd: LocalSshd, client_key: MemoryKey
) -> None:
    store_key(aws_clients, client_key.private_text)
    seed_private_instance(aws_clients)
    config = write_config(tmp_path, sshd, known_hosts="[elsewhere]:22 " + sshd.host_key_line)
    reply = run(make_ctx(config, aws_clients, store), "shop-prod 1 run uptime")
    assert not reply.ok
    assert reply.text.startswith(f"[127.0.0.1]:{sshd.port} is not in the bot's known hosts (it offered ssh-ed25519")
    assert store.audit_log("eb-ip.run")[0].detail["outcome"] == "failed"


def test_without_remote_settings_the_answer_says_what_is_missing(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str
) -> None:
    seed_private_instance(aws_clients)
    config = tmp_path / "opsbot.toml"
    config.write_text('[commands.eb-ip.checks]\nuptime = "uptime"\n')
    reply = run(make_ctx(config, aws_clients, store), "shop-prod 1 run uptime")
    assert reply.text == (
        "SSH is not configured: OPSBOT_CONFIG has no [remote] table and OPSBOT_REMOTE_KEY is not set: "
        "the SSH key and known hosts are not configured"
    )


def test_help_and_usage_errors_list_the_configured_checks(tmp_path: Path, store: Store) -> None:
    ctx = make_ctx(write_config(tmp_path, None), AwsClients(), store, user=ENGINEER)
    help_text = run(ctx, "help").text
    usage = f"Usage: `/eb-ip {COMMAND.usage_hint}`\nChecks for `run CHECK`: `failing`, `long`, `sleepy`, `uptime`."
    assert help_text.startswith(f"*/eb-ip* — {COMMAND.summary}\n{usage}\n\n")
    assert run(ctx, "my-env;reboot").text.endswith(f"\n{usage}")


def test_without_configured_checks_the_usage_lists_none_and_run_says_so(
    tmp_path: Path, aws_clients: AwsClients, store: Store, moto: str
) -> None:
    config = tmp_path / "opsbot.toml"
    config.write_text("[commands.eb-ip]\ncheck_timeout_seconds = 5\n")
    ctx = make_ctx(config, aws_clients, store)
    assert "Checks" not in run(ctx, "help").text
    assert run(ctx, "shop-prod 1 run uptime").text == (
        "No checks are configured: add them to [commands.eb-ip.checks] in OPSBOT_CONFIG."
    )
    config.write_text("[commands.eb-ip.checks]\nUPTIME = 3\n")
    assert "Checks" not in run(make_ctx(config, aws_clients, store), "help").text  # misconfigured: run says how
