"""Real peers for the remote tests: OpenSSH's sshd on loopback (skipped, with the reason, only where it
cannot start) and the bot's key in moto's S3 under a KMS key created on moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bot.aws import AwsClients
from bot.local.sshd import LocalSshd
from bot.remote.config import RemoteSettings

KEY_OBJECT = "opsbot/id_ed25519"


def store_key(aws: AwsClients, text: str, *, kms: bool = True, bucket: str = "ops-secrets") -> dict[str, Any]:
    """The key as docs/configuration.md says to store it: an S3 object encrypted with SSE-KMS under its own KMS key."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    key_id = aws.client("kms").create_key(Description="opsbot ssh key")["KeyMetadata"]["KeyId"]
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if kms else {}
    s3.put_object(Bucket=bucket, Key=KEY_OBJECT, Body=text.encode(), **extra)
    return {"key": f"s3://{bucket}/{KEY_OBJECT}", "kms_key_id": key_id}


def remote_for(server: LocalSshd, key_url: str = f"s3://ops-secrets/{KEY_OBJECT}", **more: Any) -> RemoteSettings:
    table = {"key": key_url, "known_hosts": server.known_hosts, "user": server.user, "port": server.port, **more}
    return RemoteSettings.from_table(table)


def archive_config(server: LocalSshd, bare: Path, branch: str) -> str:
    """The `[remote]` and `[remote.git]` tables of a settings file archiving into `bare` through `server`."""
    return (
        "[remote]\n"
        f'key = "s3://ops-secrets/{KEY_OBJECT}"\n'
        f"known_hosts = {json.dumps(server.known_hosts)}\n"
        "[remote.git]\n"
        f'repository = "ssh://{server.user}@127.0.0.1:{server.port}{bare}"\n'
        f'branch = "{branch}"\n'
        'author = "opsbot <opsbot@example.com>"\n'
    )
