"""The bot's SSH key and the host keys it trusts: fetched from S3 (the key under SSE-KMS) and SSM, held in memory.

The private key never touches a disk and is never logged: S3's body is read into memory, parsed with
`cryptography` (which tells Ed25519, ECDSA and RSA apart, OpenSSH or PEM, without being told) and handed
to paramiko as text in a StringIO. Only its fingerprint ever appears in a message.
"""

from __future__ import annotations

import io

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from bot.aws import AwsClients
from bot.command import CommandError
from bot.remote.config import RemoteSettings, S3Object

MAX_KEY_BYTES = 64 * 1024  # an RSA-16384 key in OpenSSH format is about 13 KB
MAX_KNOWN_HOSTS_BYTES = 1024 * 1024


class KeyUnusable(CommandError):
    """The key or the host keys cannot be used; the message says which and why, never the key itself."""


def load_private_key(text: str, passphrase: str | None = None) -> paramiko.PKey:
    """A paramiko key from OpenSSH or PEM text (Ed25519, ECDSA or RSA), decrypted with `passphrase` if it is set."""
    data = text.strip().encode() + b"\n"
    openssh = data.startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    loader = serialization.load_ssh_private_key if openssh else serialization.load_pem_private_key
    secret = passphrase.encode() if passphrase else None
    try:
        try:
            loaded = loader(data, password=secret)
        except TypeError:  # a passphrase is configured for a key that has none
            if secret is None:
                raise
            loaded = loader(data, password=None)
    except TypeError:
        raise KeyUnusable(
            "The bot's SSH key is encrypted and no passphrase is configured (key_passphrase_parameter)."
        ) from None
    except ValueError:
        hint = "the passphrase is wrong or it is" if secret else "it is"
        raise KeyUnusable(f"The bot's SSH key cannot be read: {hint} not an OpenSSH or PEM private key.") from None
    except UnsupportedAlgorithm:
        raise KeyUnusable("The bot's SSH key is of a type this bot cannot use.") from None
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    elif isinstance(loaded, rsa.RSAPrivateKey):
        key_class = paramiko.RSAKey
    else:
        raise KeyUnusable("The bot's SSH key must be Ed25519, ECDSA or RSA (OpenSSH no longer accepts DSA).")
    # paramiko reads OpenSSH-format text of every type; PKCS#8 PEM it does not, so the key is re-encoded,
    # unencrypted, in memory only.
    plain = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    return key_class.from_private_key(io.StringIO(plain.decode()))


def fetch_private_key(aws: AwsClients, remote: RemoteSettings) -> paramiko.PKey:
    """The key from its S3 object, which must be encrypted with SSE-KMS; the passphrase, if any, from SSM."""
    body = read_object(aws, remote.key, MAX_KEY_BYTES, require_kms=True)
    passphrase = None
    if remote.passphrase_parameter:
        answer = aws.client("ssm").get_parameter(Name=remote.passphrase_parameter, WithDecryption=True)
        passphrase = answer["Parameter"]["Value"]
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise KeyUnusable(f"{remote.key} is not a text private key (OpenSSH or PEM).") from None
    return load_private_key(text, passphrase)


def read_object(aws: AwsClients, where: S3Object, limit: int, *, require_kms: bool = False) -> bytes:
    answer = aws.client("s3").get_object(Bucket=where.bucket, Key=where.key)
    with answer["Body"] as body:
        if require_kms and answer.get("ServerSideEncryption") != "aws:kms":
            raise KeyUnusable(
                f"{where} is not encrypted with SSE-KMS; upload it again with `--sse aws:kms --sse-kms-key-id …`."
            )
        data: bytes = body.read(limit + 1)
    if len(data) > limit:
        raise KeyUnusable(f"{where} is over {limit // 1024} KB: that is not what it should hold.")
    return data


def parse_known_hosts(text: str) -> paramiko.HostKeys:
    """Host keys from known_hosts text (hashed names, `[host]:port`, several names a line); bad lines ignored."""
    keys = paramiko.HostKeys()
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line, lineno=number)
        except (paramiko.SSHException, ValueError):
            entry = None  # paramiko raises for a key it cannot read (e.g. an unknown type)
        if entry is None or entry.key is None:
            continue
        for name in entry.hostnames:
            keys.add(name, entry.key.get_name(), entry.key)
    return keys


def fetch_known_hosts(aws: AwsClients, remote: RemoteSettings) -> paramiko.HostKeys:
    """The trusted host keys: the configured text plus, if configured, an S3 object's."""
    text = remote.known_hosts
    if remote.known_hosts_object:
        raw = read_object(aws, remote.known_hosts_object, MAX_KNOWN_HOSTS_BYTES)
        text += "\n" + raw.decode("utf-8", errors="replace")
    return parse_known_hosts(text)
