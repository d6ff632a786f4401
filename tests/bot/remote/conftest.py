"""Real peers for the remote tests: OpenSSH's sshd on loopback (skipped, with the reason, only where it
cannot start) and the bot's key in moto's S3 under a KMS key created on moto."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.aws import AwsClients
from bot.local.sshd import LocalSshd, MemoryKey, SshdUnavailable, local_sshd, new_key
from bot.remote.config import RemoteSettings

KEY_OBJECT = "opsbot/id_ed25519"


@pytest.fixture
def client_key() -> MemoryKey:
    return new_key("ed25519")


@pytest.fixture
def sshd(client_key: MemoryKey) -> Iterator[LocalSshd]:
    try:
        with local_sshd([client_key.public_line]) as server:
            yield server
    except SshdUnavailable as why:
        pytest.skip(f"no local sshd: {why}")


def store_key(aws: AwsClients, text: str, *, kms: bool = True, bucket: str = "ops-secrets") -> dict[str, Any]:
    """The key as the README says to store it: an S3 object encrypted with SSE-KMS under its own KMS key."""
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=bucket)
    key_id = aws.client("kms").create_key(Description="opsbot ssh key")["KeyMetadata"]["KeyId"]
    extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key_id} if kms else {}
    s3.put_object(Bucket=bucket, Key=KEY_OBJECT, Body=text.encode(), **extra)
    return {"key": f"s3://{bucket}/{KEY_OBJECT}", "kms_key_id": key_id}


def remote_for(server: LocalSshd, key_url: str = f"s3://ops-secrets/{KEY_OBJECT}", **more: Any) -> RemoteSettings:
    table = {"key": key_url, "known_hosts": server.known_hosts, "user": server.user, "port": server.port, **more}
    return RemoteSettings.from_table(table)
