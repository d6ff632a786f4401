"""`/eb-ip <env> <n> run <check>`: one named check from a fixed map, on that instance over SSH.

```toml
[commands.eb-ip]
check_users = ["U012ABCDEF"]    # besides the admins, who may run checks (empty or absent: admins only)
check_timeout_seconds = 30

[commands.eb-ip.checks]
uptime = "uptime"
disk = "df -h"
eb-log = "tail -n 100 /var/log/eb-engine.log"
```
On Lambda (no settings file) the variables in the package's ENV_OPTIONS give the same keys, the map as a JSON object:
OPSBOT_EB_IP_CHECKS='{"uptime": "uptime", "disk": "df -h"}'. Slack only ever names a check; the command
comes from this map. The check is refused before any AWS call
or connection when the name is not in it or the user may not run checks. Every run is audited with who asked.
The instance is reached at the address /eb-ip resolves (its public IP), or through `[remote] bastion` when it
has only a private one. paramiko is imported here, when a check runs, never at the bot's start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.command import CommandContext, CommandError, UsageError
from bot.reply import Attachment, Reply
from bot.settings import Settings, SettingsError
from bot.slack.blocks import code_sections, context, section
from bot.text import Mrkdwn
from commands.eb_ip.instances import Instance, find_instances
from commands.eb_ip.parse import EbIpRequest

NAME = "eb-ip"
_CHECK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")
INLINE_LINES, INLINE_CHARS = 40, 2_800  # longer output goes as a file
DEFAULT_TIMEOUT, MAX_TIMEOUT = 30, 600


def json_object(raw: str) -> dict[str, Any]:
    """A variable holding a JSON object (CheckOptions checks what is in it)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        raise ValueError(raw) from None
    if not isinstance(value, dict):
        raise ValueError(raw)
    return value


def id_list(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


# On Lambda: variable -> (option, parser), merged into [commands.eb-ip] by bot.lambda_handler.


@dataclass(frozen=True)
class CheckOptions:
    checks: Mapping[str, str] = field(default_factory=dict)  # name -> command, from the settings only
    users: frozenset[str] = frozenset()
    timeout: int = DEFAULT_TIMEOUT

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> CheckOptions:
        raw = options.get("checks", {})
        where = f"OPSBOT_CONFIG [commands.{NAME}.checks]"
        if not isinstance(raw, dict):
            raise SettingsError(f"{where} must be a table of name = command")
        for name, command in raw.items():
            if not _CHECK_NAME.fullmatch(name) or not isinstance(command, str) or not command.strip():
                raise SettingsError(f"{where} {name}: names are lower-case words, commands non-empty strings")
        users = options.get("check_users", [])
        timeout = options.get("check_timeout_seconds", DEFAULT_TIMEOUT)
        if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
            raise SettingsError(f"OPSBOT_CONFIG [commands.{NAME}] check_users: a list of Slack user ids")
        if not isinstance(timeout, int) or isinstance(timeout, bool) or not 1 <= timeout <= MAX_TIMEOUT:
            raise SettingsError(f"OPSBOT_CONFIG [commands.{NAME}] check_timeout_seconds: 1 to {MAX_TIMEOUT}")
        return cls(dict(raw), frozenset(users), timeout)

    def listed(self) -> str:
        return ", ".join(f"`{name}`" for name in sorted(self.checks)) or "none are configured"


def checks_note(settings: Settings) -> str:
    """The configured checks, shown under /eb-ip's usage; nothing when none are configured."""
    opts = CheckOptions.from_options(settings.options_for(NAME))
    return f"Checks for `run CHECK`: {opts.listed()}." if opts.checks else ""


def run_check(request: EbIpRequest, ctx: CommandContext) -> Reply:
    try:
        opts = CheckOptions.from_options(ctx.settings.options_for(NAME))
    except SettingsError as exc:
        raise CommandError(f"Checks are misconfigured: {exc}") from None
    if not (ctx.is_admin or ctx.user_id in opts.users):
        raise CommandError("Only opsbot admins (or the users in check_users) may run checks on instances.")
    if not opts.checks:
        raise CommandError(f"No checks are configured: add them to [commands.{NAME}.checks] in OPSBOT_CONFIG.")
    # The usage under these errors lists the checks (checks_note).
    if not request.check:
        raise UsageError("Say which check to run: `/eb-ip my-env 2 run NAME`.")
    command = opts.checks.get(request.check)
    if command is None:
        raise UsageError(f"`{request.check}` is not a configured check.")
    assert request.n is not None
    instance = find_instances(ctx.aws, request.name, asg=request.asg, region=request.region).nth(request.n)
    outcome = "failed"
    try:
        reply, outcome = _run(request, instance, command, opts, ctx)
        return reply
    finally:
        ctx.store.audit(
            ctx.user_id,
            "eb-ip.run",
            environment=request.name,
            n=request.n,
            instance=instance.id,
            check=request.check,
            outcome=outcome,
        )


def _run(
    request: EbIpRequest, instance: Instance, command: str, opts: CheckOptions, ctx: CommandContext
) -> tuple[Reply, str]:
    from bot.remote.config import Endpoint, remote_settings
    from bot.remote.keys import fetch_known_hosts, fetch_private_key
    from bot.remote.ssh import run_command, ssh_session

    try:
        remote = remote_settings(ctx.settings)
    except SettingsError as exc:
        raise CommandError(f"SSH is not configured: {exc}") from None
    address = instance.public_ip or instance.private_ip
    if not address:
        raise CommandError(f"Instance {instance.id} has no IP address to connect to.")
    bastion = remote.bastion if not instance.public_ip else None
    target = Endpoint(address, remote.port, remote.user)
    key, known = fetch_private_key(ctx.aws, remote), fetch_known_hosts(ctx.aws, remote)
    with ssh_session(target, key, known, timeout=remote.connect_timeout, bastion=bastion) as client:
        result = run_command(client, command, opts.timeout)
    status = f"timed out after {opts.timeout} s" if result.timed_out else f"exit status {result.exit_status}"
    via = f" via the bastion {bastion.host}" if bastion else ""
    title = Mrkdwn("`{}` on {} #{} ({}, {}{}): {}").format(
        request.check, request.name, request.n, instance.id, address, via, status
    )
    text = result.output.decode("utf-8", errors="replace")
    note = " (output cut at 512 KB)" if result.truncated else ""
    lines = text.splitlines() or ["(no output)"]
    outcome = "timeout" if result.timed_out else f"exit {result.exit_status}"
    if len(lines) <= INLINE_LINES and len(text) <= INLINE_CHARS:
        # Output is the host's, not ours: escaped (in the blocks and in the text notifications show)
        # so it cannot mention, link or close the code block.
        safe = [Mrkdwn.escape(line) for line in lines]
        blocks = [section(title), *code_sections(safe)]
        return Reply(text=Mrkdwn("\n").join([title, *safe]), blocks=blocks, ok=result.exit_status == 0), outcome
    filename = f"{request.check}-{instance.id}.txt"
    blocks = [section(title), context(Mrkdwn("{:,} lines of output, in {}{}.").format(len(lines), filename, note))]
    files = (Attachment(filename, result.output, title=Mrkdwn("{} on {}").format(request.check, instance.id)),)
    return Reply(text=title, blocks=blocks, files=files, ok=result.exit_status == 0), outcome
