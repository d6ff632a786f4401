"""The `[remote]` table of the settings file: where the key is, which host keys to trust, the bastion, the repository.

```toml
[remote]
key = "s3://ops-secrets/opsbot/id_ed25519"      # an SSE-KMS object
key_passphrase_parameter = "/opsbot/ssh-key-passphrase"   # optional SSM SecureString
known_hosts = "bastion.example.com ssh-ed25519 AAAA…"      # the text, and/or
known_hosts_object = "s3://ops-secrets/opsbot/known_hosts"
user = "ec2-user"
port = 22
connect_timeout_seconds = 10
bastion = "ec2-user@bastion.example.com:22"              # for instances with only a private address

[remote.git]
repository = "ssh://git@github.com/example/ops-archive.git"
branch = "opsbot-archive"
author = "opsbot <opsbot@example.com>"
```
Read here rather than in bot.settings: only the commands that reach a remote host need it.

On AWS Lambda there is no settings file: the `OPSBOT_REMOTE_*` variables (`ENV_VARIABLES`) give the same keys,
and an error names the variable. A settings file's `[remote]` table and the variables are not mixed.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.settings import Settings, SettingsError

_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")
_USER = re.compile(r"[A-Za-z_][A-Za-z0-9._-]{0,31}")
_S3_URL = re.compile(r"s3://(?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(?P<key>\S{1,1024})")
_AUTHOR = re.compile(r"(?P<name>[^<>\n]{1,100}) <(?P<email>[^<>\s]{3,254})>")

# On Lambda: variable -> the key it sets (`git.` ones in [remote.git]).
ENV_VARIABLES = {
    "OPSBOT_REMOTE_KEY": "key",
    "OPSBOT_REMOTE_KEY_PASSPHRASE_PARAMETER": "key_passphrase_parameter",
    "OPSBOT_REMOTE_KNOWN_HOSTS": "known_hosts",
    "OPSBOT_REMOTE_KNOWN_HOSTS_OBJECT": "known_hosts_object",
    "OPSBOT_REMOTE_USER": "user",
    "OPSBOT_REMOTE_PORT": "port",
    "OPSBOT_REMOTE_BASTION": "bastion",
    "OPSBOT_REMOTE_CONNECT_TIMEOUT_SECONDS": "connect_timeout_seconds",
    "OPSBOT_REMOTE_GIT_REPOSITORY": "git.repository",
    "OPSBOT_REMOTE_GIT_BRANCH": "git.branch",
    "OPSBOT_REMOTE_GIT_AUTHOR": "git.author",
}
_NUMBERS = ("port", "connect_timeout_seconds")

# Where a key was set, for messages: "OPSBOT_CONFIG [remote] port" or "OPSBOT_REMOTE_PORT".
Where = Callable[[str], str]


def in_file(name: str) -> str:
    table, _, key = name.rpartition(".")
    return f"OPSBOT_CONFIG [remote{'.' + table if table else ''}] {key}"


def in_variables(name: str) -> str:
    return next((variable for variable, key in ENV_VARIABLES.items() if key == name), in_file(name))


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int = 22
    user: str = "ec2-user"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host  # as endpoint() reads it back
        return f"{self.user}@{host}:{self.port}"


@dataclass(frozen=True)
class S3Object:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


@dataclass(frozen=True)
class GitTarget:
    repository: str  # ssh://user@host[:port]/path
    branch: str
    author_name: str = "opsbot"
    author_email: str = "opsbot@localhost"


@dataclass(frozen=True)
class RemoteSettings:
    key: S3Object
    passphrase_parameter: str | None = None
    known_hosts: str = ""
    known_hosts_object: S3Object | None = None
    user: str = "ec2-user"
    port: int = 22
    connect_timeout: float = 10.0
    bastion: Endpoint | None = None
    git: GitTarget | None = None

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: Where = in_file) -> RemoteSettings:
        """The settings from a `[remote]` table; SettingsError names the key (or variable) that is wrong."""
        if "key" not in table:
            raise SettingsError(f"{where('key')}: missing (s3://bucket/key of the SSH private key)")
        user = _text(table, "user", "ec2-user", where)
        if not _USER.fullmatch(user):
            raise SettingsError(f"{where('user')}: not a login name: {user!r}")
        if not table.get("known_hosts") and not table.get("known_hosts_object"):
            raise SettingsError(
                f"Set {where('known_hosts')} or {where('known_hosts_object')}: no host is trusted unseen"
            )
        return cls(
            key=s3_object(where("key"), _text(table, "key", "", where)),
            passphrase_parameter=_text(table, "key_passphrase_parameter", "", where) or None,
            known_hosts=_text(table, "known_hosts", "", where),
            known_hosts_object=s3_object(where("known_hosts_object"), table["known_hosts_object"])
            if table.get("known_hosts_object")
            else None,
            user=user,
            port=_port(table, "port", 22, where),
            connect_timeout=float(_port(table, "connect_timeout_seconds", 10, where)),
            bastion=endpoint(where("bastion"), _text(table, "bastion", "", where), user)
            if table.get("bastion")
            else None,
            git=_git(table.get("git"), where),
        )


def remote_settings(settings: Settings, env: Mapping[str, str] | None = None) -> RemoteSettings:
    """The `[remote]` table of OPSBOT_CONFIG, else the OPSBOT_REMOTE_* variables, or a SettingsError saying
    which is missing or wrong."""
    env = os.environ if env is None else env
    table: Any = {}
    if settings.config_path:
        try:
            with settings.config_path.open("rb") as fh:
                table = tomllib.load(fh).get("remote", {})
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"OPSBOT_CONFIG: cannot read {settings.config_path}: {exc}") from None
    if not isinstance(table, dict):
        raise SettingsError("OPSBOT_CONFIG [remote] must be a table")
    variables = {name: env[name].strip() for name in ENV_VARIABLES if env.get(name, "").strip()}
    if table and variables:
        names = ", ".join(sorted(variables))
        raise SettingsError(
            f"OPSBOT_CONFIG has a [remote] table and the variables set {names} too: use one or the other"
        )
    if table:
        return RemoteSettings.from_table(table)
    if variables:
        return RemoteSettings.from_table(_table_of(variables), in_variables)
    raise SettingsError(
        "OPSBOT_CONFIG has no [remote] table and OPSBOT_REMOTE_KEY is not set: "
        "the SSH key and known hosts are not configured"
    )


def _table_of(variables: Mapping[str, str]) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for variable, value in variables.items():
        section, _, key = ENV_VARIABLES[variable].rpartition(".")
        if key in _NUMBERS:
            if not value.isascii() or not value.isdigit():
                raise SettingsError(f"{variable}: expected a whole number from 1 to 65535")
            table[key] = int(value)
        elif section:
            table.setdefault(section, {})[key] = value
        else:
            table[key] = value
    return table


def s3_object(where: str, url: Any) -> S3Object:
    found = _S3_URL.fullmatch(url) if isinstance(url, str) else None
    if not found:
        raise SettingsError(f"{where}: expected s3://bucket/key, got {url!r}")
    return S3Object(found["bucket"], found["key"])


def endpoint(where: str, text: str, default_user: str, default_port: int = 22) -> Endpoint:
    """`host`, `user@host`, `host:port` or `user@[::1]:port`."""
    user, _, rest = text.rpartition("@")
    host, port = rest, default_port
    if re.fullmatch(r".+:[0-9]{1,5}", rest) and not (rest.startswith("[") and rest.endswith("]")):
        host, _, digits = rest.rpartition(":")
        port = int(digits)
    if not _HOST.fullmatch(host) or not 1 <= port <= 65535 or (user and not _USER.fullmatch(user)):
        raise SettingsError(f"{where}: expected [user@]host[:port], got {text!r}")
    return Endpoint(host.strip("[]"), port, user or default_user)


def _git(table: Any, where: Where) -> GitTarget | None:
    if table is None:
        return None
    if not isinstance(table, dict):
        raise SettingsError("OPSBOT_CONFIG [remote.git] must be a table")
    repository = _text(table, "repository", "", where, "git.")
    if not re.fullmatch(r"ssh://[^\s/]+/\S+", repository):
        raise SettingsError(f"{where('git.repository')}: expected ssh://user@host/path, got {repository!r}")
    author = _AUTHOR.fullmatch(_text(table, "author", "opsbot <opsbot@localhost>", where, "git."))
    if not author:
        raise SettingsError(f"{where('git.author')}: expected 'Name <email>'")
    return GitTarget(
        repository,
        branch_name(_text(table, "branch", "opsbot-archive", where, "git."), where("git.branch")),
        author["name"].strip(),
        author["email"],
    )


def branch_name(name: str, where: str = "OPSBOT_CONFIG") -> str:
    """A branch name git accepts and nothing can read as an option or a path trick."""
    bad = (
        not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}", name)
        or ".." in name
        or "//" in name
        or name.endswith((".", "/", ".lock"))
    )
    if bad:
        raise SettingsError(f"{where}: not a usable branch name: {name!r}")
    return name


def _text(table: Mapping[str, Any], name: str, default: str, where: Where, prefix: str = "") -> str:
    value = table.get(name, default)
    if not isinstance(value, str):
        raise SettingsError(f"{where(prefix + name)}: expected a string")
    return value


def _port(table: Mapping[str, Any], name: str, default: int, where: Where) -> int:
    value = table.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        raise SettingsError(f"{where(name)}: expected a whole number from 1 to 65535")
    return value
