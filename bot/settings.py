"""Settings, read once from the environment (and an optional TOML file) and validated at start.

Every error names the variable or key that is wrong, so a broken deployment says what to fix.
AWS is configured only through boto3's own variables (AWS_PROFILE, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL, ...); nothing here duplicates them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.accounts import ANY_CHANNEL, Account, AccountMap, ChannelAccounts
from bot.policy import DESTRUCTIVE, EVERYTHING, Policy, Rule

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class AccessRule:
    """Who may run one command. Empty sets mean everyone / everywhere."""

    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def allows(self, user_id: str, channel_id: str) -> bool:
        return (not self.users or user_id in self.users) and (not self.channels or channel_id in self.channels)


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    config_path: Path | None = None
    state_url: str = "~/.local/state/opsbot/opsbot.db"
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    admins: frozenset[str] = frozenset()
    public_url: str | None = None
    worker_threads: int = 32
    http_threads: int = 48
    # Per bearer token: a bucket of `route_burst` lookups, refilled at `route_rate` a second.
    route_rate: float = 5.0
    route_burst: int = 10
    access: Mapping[str, AccessRule] = field(default_factory=dict)
    # Per-command structured settings from the TOML file, e.g. [commands.lambda-capacity].
    command_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    # [accounts.NAME] and [channels.ID]: the AWS accounts commands act in; empty: the bot's own credentials.
    accounts: AccountMap = field(default_factory=AccountMap)
    policy_rules: Policy = field(default_factory=Policy)  # [[policy]]
    audit_days: float = 90.0  # OPSBOT_AUDIT_DAYS: how long the audit trail keeps a record

    @property
    def policy(self) -> Policy:
        """The [[policy]] rules, and OPSBOT_ADMINS as one allowing them every destructive verb."""
        return self.policy_rules.with_admins(self.admins)

    def access_for(self, command: str) -> AccessRule:
        return self.access.get(command.lstrip("/"), AccessRule())

    def options_for(self, command: str) -> Mapping[str, Any]:
        return self.command_options.get(command.lstrip("/"), {})

    def is_admin(self, user_id: str) -> bool:
        return user_id in self.admins

    def require_slack(self, *, socket_mode: bool) -> None:
        """Fail early, naming every Slack variable a server mode needs and lacks."""
        needed = ["SLACK_BOT_TOKEN"]
        needed.append("SLACK_APP_TOKEN" if socket_mode else "SLACK_SIGNING_SECRET")
        values = {
            "SLACK_BOT_TOKEN": self.slack_bot_token,
            "SLACK_APP_TOKEN": self.slack_app_token,
            "SLACK_SIGNING_SECRET": self.slack_signing_secret,
        }
        missing = [name for name in needed if not values[name]]
        if missing:
            raise SettingsError(f"missing setting: {', '.join(missing)}")


def _ids(name: str, raw: str | list[Any], pattern: re.Pattern[str], what: str) -> frozenset[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    ids = frozenset(str(item).strip() for item in items if str(item).strip())
    bad = sorted(i for i in ids if not pattern.match(i))
    if bad:
        raise SettingsError(f"{name}: not a Slack {what} id: {', '.join(bad)}")
    return ids


def default_state(env: Mapping[str, str]) -> str:
    """The SQLite file in the user's state directory (XDG), never in whatever directory opsbot runs in."""
    base = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec: a relative path is invalid and ignored
        base = "~/.local/state"
    return os.path.join(base, "opsbot", "opsbot.db")


def _value(env: Mapping[str, str], name: str, secret: bool = False) -> str | None:
    """The variable's value; unset or empty means the default (a template's empty parameter).
    Whitespace is refused: it passes every `if value` check and then fails every request."""
    raw = env.get(name)
    if not raw:
        return None
    if not raw.strip():
        raise SettingsError(f"{name}: is only whitespace; unset it or give it a value")
    if secret and raw != raw.strip():
        raise SettingsError(f"{name}: has whitespace around it (a copy-paste slip?); Slack would never match it")
    return raw


def _positive_int(name: str, raw: str, least: int = 1) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a whole number, got {raw!r}") from None
    if value < least:
        raise SettingsError(f"{name}: must be at least {least}, got {value}")
    return value


def _positive_float(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}: expected a number, got {raw!r}") from None
    if not 0 < value < float("inf"):
        raise SettingsError(f"{name}: must be above 0, got {raw!r}")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"OPSBOT_CONFIG: no such file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"OPSBOT_CONFIG: {path} cannot be read: {exc}") from None
    return _parse_toml(text, f"OPSBOT_CONFIG: {path}")


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    import tomllib  # only with a settings file: a cold start without one skips the parser

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{source} is not valid TOML: {exc}") from None


def _access_rules(doc: Mapping[str, Any]) -> tuple[dict[str, AccessRule], dict[str, Mapping[str, Any]]]:
    rules: dict[str, AccessRule] = {}
    options: dict[str, Mapping[str, Any]] = {}
    commands = doc.get("commands", {})
    if not isinstance(commands, dict):
        raise SettingsError("OPSBOT_CONFIG: [commands] must be a table")
    for name, table in commands.items():
        if not isinstance(table, dict):
            raise SettingsError(f"OPSBOT_CONFIG: [commands.{name}] must be a table")
        key = f"OPSBOT_CONFIG [commands.{name}]"
        rules[name] = AccessRule(
            users=_ids(f"{key} users", table.get("users", []), _USER_ID, "user"),
            channels=_ids(f"{key} channels", table.get("channels", []), _CHANNEL_ID, "channel"),
        )
        options[name] = {k: v for k, v in table.items() if k not in ("users", "channels")}
    return rules, options


_ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]{1,512}$", re.ASCII)
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$")
_EXTERNAL_ID = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    table = doc.get(key, {})
    if not isinstance(table, dict) or not all(isinstance(v, dict) for v in table.values()):
        raise SettingsError(f"OPSBOT_CONFIG: [{key}] must hold tables, such as [{key}.NAME]")
    return table


def _text(key: str, table: Mapping[str, Any], name: str, pattern: re.Pattern[str], what: str) -> str | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise SettingsError(f"OPSBOT_CONFIG {key} {name}: expected {what}")
    return value


def _accounts(doc: Mapping[str, Any]) -> AccountMap:
    accounts: dict[str, Account] = {}
    for name, table in _table(doc, "accounts").items():
        key = f"[accounts.{name}]"
        if not _ACCOUNT_NAME.match(name):
            raise SettingsError(f"OPSBOT_CONFIG {key}: a name is 1-32 lower-case letters, digits, - and _")
        unknown = sorted(set(table) - {"role_arn", "external_id", "region", "label"})
        if unknown:
            raise SettingsError(f"OPSBOT_CONFIG {key}: unknown key {unknown[0]}")
        label = table.get("label", "")
        if not isinstance(label, str) or len(label) > 80:
            raise SettingsError(f"OPSBOT_CONFIG {key} label: expected a string of at most 80 characters")
        accounts[name] = Account(
            name=name,
            role_arn=_text(key, table, "role_arn", _ROLE_ARN, "an IAM role ARN"),
            external_id=_text(key, table, "external_id", _EXTERNAL_ID, "2-1224 characters of [\\w+=,.@:/-]"),
            region=_text(key, table, "region", _REGION, "an AWS region such as eu-west-1"),
            label=label,
        )
    channels: dict[str, ChannelAccounts] = {}
    for channel, table in _table(doc, "channels").items():
        key = f"[channels.{channel}]"
        if channel != ANY_CHANNEL and not _CHANNEL_ID.match(channel):
            raise SettingsError(f'OPSBOT_CONFIG {key}: not a Slack channel id (or "*" for every other channel)')
        default = table.get("default_account")
        allowed = table.get("accounts", [default] if default else [])
        if not isinstance(allowed, list) or not all(isinstance(a, str) for a in allowed):
            raise SettingsError(f"OPSBOT_CONFIG {key} accounts: expected a list of account names")
        unknown = sorted({*allowed, *([default] if default else [])} - set(accounts))
        if unknown:
            raise SettingsError(f"OPSBOT_CONFIG {key}: no [accounts.{unknown[0]}]")
        if default is not None and default not in allowed:
            raise SettingsError(f"OPSBOT_CONFIG {key}: default_account must be one of its accounts")
        channels[channel] = ChannelAccounts(default, frozenset(allowed))
    if channels and not accounts:
        raise SettingsError("OPSBOT_CONFIG: [channels] names accounts, but there is no [accounts.NAME]")
    return AccountMap(accounts, channels)


_ACTION = re.compile(r"^/[a-z0-9_-]{1,31}( [a-z-]{1,32})?$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def _policy(doc: Mapping[str, Any], accounts: AccountMap) -> Policy:
    tables = doc.get("policy", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise SettingsError("OPSBOT_CONFIG: policy rules are [[policy]] tables")
    rules = []
    for at, table in enumerate(tables, 1):
        name = str(table.get("name") or f"policy #{at}")
        key = f"OPSBOT_CONFIG [[policy]] {name!r}"
        unknown = sorted(set(table) - {"name", "allow", "deny", "users", "usergroups", "channels", "accounts"})
        if unknown:
            raise SettingsError(f"{key}: unknown key {unknown[0]}")
        if ("allow" in table) == ("deny" in table):
            raise SettingsError(f"{key}: give either allow = [...] or deny = [...], the actions it is about")
        actions = table.get("allow", table.get("deny"))
        if not isinstance(actions, list) or not actions:
            raise SettingsError(f'{key}: allow/deny is a list of actions such as "/lambda-capacity prune"')
        bad = [a for a in actions if not (a in (EVERYTHING, DESTRUCTIVE) or (isinstance(a, str) and _ACTION.match(a)))]
        if bad:
            raise SettingsError(f'{key}: not an action: {bad[0]!r} ("/command", "/command verb", "*", "destructive")')
        names = table.get("accounts", [])
        if not isinstance(names, list) or set(names) - set(accounts.accounts):
            raise SettingsError(f"{key} accounts: expected names of [accounts.NAME] tables")
        rules.append(
            Rule(
                name=name,
                allow="allow" in table,
                actions=frozenset(actions),
                users=_ids(f"{key} users", table.get("users", []), _USER_ID, "user"),
                usergroups=_ids(f"{key} usergroups", table.get("usergroups", []), _GROUP_ID, "user group"),
                channels=_ids(f"{key} channels", table.get("channels", []), _CHANNEL_ID, "channel"),
                accounts=frozenset(names),
            )
        )
    return Policy(tuple(rules))


def load_settings(env: Mapping[str, str] | None = None, config_text: tuple[str, str] | None = None) -> Settings:
    """Build Settings from environment variables; raise SettingsError naming the first bad one.

    `config_text`: the settings file's TOML and where it came from (on Lambda, an SSM parameter),
    read instead of the file `OPSBOT_CONFIG` names."""
    env = os.environ if env is None else env
    config = _value(env, "OPSBOT_CONFIG")
    config_path = Path(config) if config else None
    if config_text is not None:
        doc = _parse_toml(config_text[0], config_text[1])
    else:
        doc = _read_toml(config_path) if config_path else {}
    access, options = _access_rules(doc)

    tz_name = _value(env, "OPSBOT_TIMEZONE") or "UTC"
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(f"OPSBOT_TIMEZONE: unknown IANA time zone {tz_name!r}") from None

    api_url = _value(env, "SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://", api_url):
        raise SettingsError(f"SLACK_API_URL: expected an http(s) URL, got {api_url!r}")
    if not api_url.endswith("/"):
        api_url += "/"

    public_url = _value(env, "OPSBOT_PUBLIC_URL")
    if public_url and not re.match(r"^https?://[^/\s]+", public_url):
        raise SettingsError(f"OPSBOT_PUBLIC_URL: expected an http(s) URL, got {public_url!r}")

    state_url = _value(env, "OPSBOT_STATE") or default_state(env)
    app_token = _value(env, "SLACK_APP_TOKEN", secret=True)
    if app_token and not app_token.startswith("xapp-"):
        raise SettingsError("SLACK_APP_TOKEN: an app-level token starts with 'xapp-'")
    bot_token = _value(env, "SLACK_BOT_TOKEN", secret=True)
    if bot_token and not bot_token.startswith("xoxb-"):
        raise SettingsError("SLACK_BOT_TOKEN: a bot token starts with 'xoxb-'")

    admins = _ids("OPSBOT_ADMINS", _value(env, "OPSBOT_ADMINS") or "", _USER_ID, "user")
    accounts = _accounts(doc)
    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=_value(env, "SLACK_SIGNING_SECRET", secret=True),
        slack_app_token=app_token,
        slack_api_url=api_url,
        config_path=config_path,
        state_url=state_url,
        timezone=timezone,
        admins=admins,
        public_url=public_url.rstrip("/") if public_url else None,
        worker_threads=_positive_int("OPSBOT_WORKER_THREADS", _value(env, "OPSBOT_WORKER_THREADS") or "32"),
        # At least 2: the routes may take only half of them (bot.http), the rest answer Slack.
        http_threads=_positive_int("OPSBOT_HTTP_THREADS", _value(env, "OPSBOT_HTTP_THREADS") or "48", least=2),
        route_rate=_positive_float("OPSBOT_ROUTE_RATE", _value(env, "OPSBOT_ROUTE_RATE") or "5"),
        route_burst=_positive_int("OPSBOT_ROUTE_BURST", _value(env, "OPSBOT_ROUTE_BURST") or "10"),
        access=access,
        command_options=options,
        accounts=accounts,
        policy_rules=_policy(doc, accounts),
        audit_days=_positive_float("OPSBOT_AUDIT_DAYS", _value(env, "OPSBOT_AUDIT_DAYS") or "90"),
    )
