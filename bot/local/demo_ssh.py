"""`opsbot demo`'s SSH scene: a check on an instance and an archive commit, against a real local sshd.

The bot's key goes into moto's S3 under SSE-KMS (a KMS key created on moto), as docs/configuration.md says to store it;
the `[remote]` settings trust only the sshd's host key. moto's instance has the private address 127.0.0.1 and
no public one, so the bot reaches it exactly as in production: through the bastion (the same sshd), whose
`direct-tcpip` channel leads to 127.0.0.1. The archive goes to a bare repository served by that sshd.

The demo's own bot has no settings file, so this scene serves a second bot, with one, beside the Slack stand-in.
Where sshd (or git, for the repository) is not installed the scene says so in the transcript and is skipped.
paramiko and dulwich load only inside the bot when the scene runs, never at the demo's start.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.aws import AwsClients
    from bot.local.demo import DemoBot
    from bot.local.sshd import LocalSshd

ENVIRONMENT = "demo-env"
KEY_URL = "s3://demo-ops-secrets/opsbot/id_ed25519"
BRANCH = "capacity-reports"


def ssh_scene(bot: DemoBot) -> None:
    from bot.local.sshd import SshdUnavailable, local_sshd, new_key

    bot.narrate("SSH: a configured check on an instance, and an archive commit, over a real sshd on loopback.")
    key = new_key("ed25519")  # the pair lives in this process; only its public line is written, for sshd
    try:
        with local_sshd([key.public_line]) as sshd:
            _scene(bot, sshd, key.private_text)
    except SshdUnavailable as why:
        bot.narrate(f"SSH scene skipped: {why}.")


def _scene(bot: DemoBot, sshd: LocalSshd, private_text: str) -> None:
    from bot.aws import AwsClients
    from bot.local.demo import ADMIN, DemoBot, Entry

    aws = AwsClients()
    kms_key = _store_key(aws, private_text)
    _seed_private_instance(aws)
    bare = sshd.bare_repository() if shutil.which("git") else None
    with tempfile.TemporaryDirectory(prefix="opsbot-demo-ssh-") as directory:
        config = Path(directory) / "opsbot.toml"
        config.write_text(_settings(sshd, bare))
        said = f"cat opsbot.toml    # the key: {KEY_URL}, SSE-KMS with KMS key {kms_key}"
        bot.transcript.append(
            Entry("ops", said, "shell", replies=[{"text": config.read_text().rstrip(), "response_type": "http"}])
        )
        with _second_bot(bot, config, Path(directory)) as url:
            ssh_bot = DemoBot(bot.standin, url, bot.signing_secret, transcript=bot.transcript)
            ssh_bot.slash(f"/eb-ip {ENVIRONMENT} 1 run uptime", user=ADMIN)
            ssh_bot.slash(f"/eb-ip {ENVIRONMENT} 1 run reboot", user=ADMIN)  # not in the map: refused unsent
            if bare is None:
                bot.narrate("Archive skipped: the git CLI, which creates the demo's bare repository, is not installed.")
                return
            ssh_bot.slash("/lambda-capacity --top 3", user=ADMIN)  # the report that archive commits
            ssh_bot.slash("/lambda-capacity archive", user=ADMIN)
        from bot.local.sshd import git

        try:
            log = git("-C", str(bare), "log", "--stat", "--format=%H %an: %s", BRANCH, "-1").strip()
        except RuntimeError as exc:  # the archive failed: its reply above says why
            log = str(exc)
        said = f"git -C archive.git log --stat -1 {BRANCH}"
        bot.transcript.append(Entry("ops", said, "shell", replies=[{"text": log, "response_type": "http"}]))


def _store_key(aws: AwsClients, private_text: str) -> str:
    bucket, _, key = KEY_URL.removeprefix("s3://").partition("/")
    kms_key = str(aws.client("kms").create_key(Description="opsbot demo ssh key")["KeyMetadata"]["KeyId"])
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(
        Bucket=bucket, Key=key, Body=private_text.encode(), ServerSideEncryption="aws:kms", SSEKMSKeyId=kms_key
    )
    return kms_key


def _seed_private_instance(aws: AwsClients) -> None:
    from commands.eb_ip.instances import EB_TAG

    ec2 = aws.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="127.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="127.0.0.0/24")["Subnet"]["SubnetId"]
    nic = {"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": False, "PrivateIpAddress": "127.0.0.1"}
    tags = [{"ResourceType": "instance", "Tags": [{"Key": EB_TAG, "Value": ENVIRONMENT}]}]
    ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1, NetworkInterfaces=[nic], TagSpecifications=tags)


def _settings(sshd: LocalSshd, bare: Path | None) -> str:
    lines = [
        "[remote]",
        f'key = "{KEY_URL}"',
        f"known_hosts = {json.dumps(sshd.known_hosts.strip())}",
        f'user = "{sshd.user}"',
        f"port = {sshd.port}",
        f'bastion = "127.0.0.1:{sshd.port}"',
        "",
    ]
    if bare is not None:
        lines += [
            "[remote.git]",
            f'repository = "ssh://{sshd.user}@127.0.0.1:{sshd.port}{bare}"',
            f'branch = "{BRANCH}"',
            'author = "opsbot <opsbot@example.com>"',
            "",
        ]
    lines += [
        "[commands.eb-ip]",
        "check_timeout_seconds = 10",
        "",
        "[commands.eb-ip.checks]",
        'uptime = "uptime"',
        'disk = "df -h /"',
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def _second_bot(bot: DemoBot, config: Path, state_dir: Path) -> Iterator[str]:
    """The bot, with `config` as its settings file, served over HTTP like the demo's own; its base URL."""
    import waitress

    from bot.http import OpsbotWsgi
    from bot.local.demo import ADMIN
    from bot.runtime import Runtime
    from bot.settings import load_settings
    from bot.slack.app import build_app
    from commands import COMMANDS

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": bot.standin.bot_token,
            "SLACK_SIGNING_SECRET": bot.signing_secret,
            "SLACK_API_URL": bot.standin.api_url,
            "OPSBOT_CONFIG": str(config),
            "OPSBOT_STATE": str(state_dir / "opsbot.db"),
            "OPSBOT_ADMINS": ADMIN,
        }
    )
    runtime = Runtime.from_settings(settings)
    wsgi = OpsbotWsgi(runtime, build_app(runtime, COMMANDS), COMMANDS)
    server = waitress.create_server(wsgi, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.close()
        server.task_dispatcher.shutdown()
