"""/eb-ip: the running instances of an Elastic Beanstalk environment (or Auto Scaling group), oldest first.

`/eb-ip my-env 2` is the second-oldest running instance; `ssh my-env.2` reaches it through the
ssh config block `/eb-ip my-env ssh-config` prints, which asks the bot's authenticated HTTP route
`GET /eb/my-env/ip/2` for the address. Flow: parse -> AWS (EC2 tags) -> result -> render.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.aws import AwsClients
from bot.command import (
    MAX_TEXT,
    CommandContext,
    CommandError,
    HttpRequest,
    HttpResponse,
    Route,
    SlashCommand,
    UsageError,
    require_admin,
)
from bot.reply import Reply, code_sections, context, fit_blocks, header, section
from bot.settings import Settings
from bot.tokens import issue_token

EB_TAG = "elasticbeanstalk:environment-name"
ASG_TAG = "aws:autoscaling:groupName"
TOKEN_PATH = "~/.config/opsbot/token"
PRIVATE_ONLY = "(private only)"

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")
_ENV_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ASG_CHARS = _ENV_CHARS | frozenset("._:/")
_REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>")
_ECHO_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset("`<>&*_~")
_TOKEN_PATH_CHARS = _ASG_CHARS - frozenset(":") | frozenset("~+")
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]_-]+(?:/[A-Za-z0-9._~/-]*)?")

Kind = Literal["list", "table", "nth", "ssh_config", "token", "revoke"]
SshKind = Literal["ip", "ssm"]


@dataclass(frozen=True)
class EbIpRequest:
    kind: Kind
    name: str = ""  # environment, or Auto Scaling group with asg=True
    n: int | None = None
    region: str | None = None
    asg: bool = False
    ssh_kind: SshKind = "ip"
    user: str = ""  # for revoke: a Slack user id, or "me"


@dataclass(frozen=True)
class Instance:
    id: str
    public_ip: str | None
    private_ip: str | None
    launched_at: datetime  # aware
    az: str

    @property
    def address(self) -> str:
        return self.public_ip or self.private_ip or ""


@dataclass(frozen=True)
class EnvironmentInstances:
    name: str
    region: str
    asg: bool
    instances: tuple[Instance, ...]  # running, oldest first

    @property
    def label(self) -> str:
        return f"Auto Scaling group {self.name}" if self.asg else self.name

    def nth(self, n: int) -> Instance:
        if not 1 <= n <= len(self.instances):
            count = _plural(len(self.instances), "running instance")
            raise CommandError(f"{self.label} has {count} in {self.region}; there is no #{n}.")
        return self.instances[n - 1]


@dataclass(frozen=True)
class EnvironmentSummary:
    name: str
    status: str
    health: str
    instances: int


# -- parsing: Slack text is not shell, so whitespace-split and check every word


def parse(text: str) -> EbIpRequest:
    if len(text) > MAX_TEXT:
        raise UsageError(f"That is too long ({len(text)} characters; at most {MAX_TEXT}).")
    words = text.split()
    if words and words[0].lower() == "revoke":
        return EbIpRequest("revoke", user=_revoked_user(text.strip()[len("revoke") :].strip()))
    args: list[str] = []
    region: str | None = None
    asg = ssm = False
    unknown = ""
    it = iter(words)
    for word in it:
        flag = re.sub(r"^[\u2013\u2014]", "--", word).lower()  # Slack may turn "--" into a dash
        flag, eq, value = flag.partition("=")
        if flag == "--region":
            if region is not None:
                raise UsageError("Give --region once.")
            region = _region(value if eq else next(it, ""))
        elif flag in ("--asg", "--ssm") and not eq:
            asg, ssm = asg or flag == "--asg", ssm or flag == "--ssm"
        elif word.startswith(("-", "\u2013", "\u2014")) and not re.fullmatch(r"-[0-9]+", word):
            unknown = unknown or word
        else:
            args.append(word)
    if unknown:
        if args and args[0].lower() not in ("token", "revoke"):
            _name(args[0], asg)  # "shop;rm -rf /": the name is the clearer complaint
        raise UsageError(f"Unknown option {_shown(unknown)}.")
    if not args:
        if asg or ssm:
            raise UsageError("--asg and --ssm need a name: `/eb-ip --asg my-group 2`.")
        return EbIpRequest("list", region=region)
    if args[0].lower() in ("token", "revoke"):
        if len(args) > 1 or region or asg or ssm or args[0].lower() == "revoke":
            raise UsageError(f"`{args[0].lower()}` takes no other words or options.")
        return EbIpRequest("token")
    name = _name(args[0], asg)
    if len(args) > 2:
        raise UsageError(f"Too many words: a name and then a number or ssh-config, not also {_shown(args[2])}.")
    if len(args) == 1 or args[1].lower() not in ("ssh-config", "ssh_config"):
        if ssm:
            raise UsageError("--ssm goes with ssh-config: `/eb-ip my-env ssh-config --ssm`.")
        if len(args) == 1:
            return EbIpRequest("table", name=name, region=region, asg=asg)
        return EbIpRequest("nth", name=name, n=_n(args[1]), region=region, asg=asg)
    return EbIpRequest("ssh_config", name=name, region=region, asg=asg, ssh_kind="ssm" if ssm else "ip")


def _name(word: str, asg: bool) -> str:
    what = "an Auto Scaling group name" if asg else "an environment name"
    if asg:
        rule = "Auto Scaling group names here are 1–255 ASCII letters, digits and . _ : / -"
        ok = 1 <= len(word) <= 255 and set(word) <= _ASG_CHARS
    else:
        rule = "Environment names are 4–40 ASCII letters, digits and hyphens, with no hyphen at either end"
        ok = _ENV_NAME.fullmatch(word) is not None
    if ok:
        return word
    bad = next((c for c in word if c not in (_ASG_CHARS if asg else _ENV_CHARS)), None)
    shown = _shown(word) if all(c in _ECHO_SAFE for c in word) and word else "That"
    shown = shown[:1].upper() + shown[1:]
    why = f": it contains {_char(bad)}" if bad else ""
    raise UsageError(f"{shown} is not {what}{why}. {rule}.")


def _n(word: str) -> int:
    digits = word.removeprefix("#")
    if re.fullmatch(r"-[0-9]+", digits) or re.fullmatch(r"0+", digits):
        raise UsageError("Instances are numbered from 1 (the oldest running instance).")
    if not re.fullmatch(r"[0-9]+", digits):
        raise UsageError(f"Expected an instance number or `ssh-config` after the name, not {_shown(word)}.")
    if len(digits) > 6:  # int() of thousands of digits is slow or refused; no group is that big
        raise UsageError(f"Instance number {digits[:12]}… is far larger than any environment.")
    return int(digits)


def _region(word: str) -> str:
    region = word.lower()
    if not _REGION.fullmatch(region):
        raise UsageError(f"--region needs an AWS region like eu-west-1, not {_shown(word) if word else 'nothing'}.")
    return region


def _revoked_user(rest: str) -> str:
    if rest.lower() == "me":
        return "me"
    found = _MENTION.fullmatch(rest) or _USER_ID.fullmatch(rest)
    if not found:
        raise UsageError("Say whose tokens to revoke: `/eb-ip revoke me`, `/eb-ip revoke @someone` or a user id.")
    return found.group(1) if found.re is _MENTION else found.group(0)


def _shown(word: str) -> str:
    """A user's word, safe to echo into Slack and a terminal: quoted, or described."""
    if all(c in _ECHO_SAFE for c in word) and 0 < len(word) <= 60:
        return f"`{word}`"
    odd = next((c for c in word if c not in _ECHO_SAFE), None)
    return f"a word with {_char(odd)}" if odd else f"a {len(word)}-character word"


def _char(c: str) -> str:
    code = f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip()
    return f"'{c}' ({code})" if c in _ECHO_SAFE else code


# -- pure logic: ordering and counting


def oldest_first(instances: Iterable[Instance]) -> tuple[Instance, ...]:
    """Launch time, then instance id; duplicates (pages can overlap while instances change) dropped."""
    unique = {i.id: i for i in instances}
    return tuple(sorted(unique.values(), key=lambda i: (i.launched_at, i.id)))


def instance_from(raw: Mapping[str, Any]) -> Instance:
    launched: datetime = raw["LaunchTime"]
    return Instance(
        id=raw["InstanceId"],
        public_ip=raw.get("PublicIpAddress") or None,
        private_ip=raw.get("PrivateIpAddress") or None,
        launched_at=launched if launched.tzinfo else launched.replace(tzinfo=UTC),
        az=raw.get("Placement", {}).get("AvailabilityZone", ""),
    )


def _tag(raw: Mapping[str, Any], key: str) -> str | None:
    return next((t.get("Value") for t in raw.get("Tags", []) if t.get("Key") == key), None)


# -- AWS


def _running(ec2: Any, filters: list[dict[str, Any]]) -> Iterable[Mapping[str, Any]]:
    filters = [*filters, {"Name": "instance-state-name", "Values": ["running"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            yield from reservation.get("Instances", [])


def running_instances(ec2: Any, tag_key: str, value: str) -> tuple[Instance, ...]:
    return oldest_first(instance_from(raw) for raw in _running(ec2, [{"Name": f"tag:{tag_key}", "Values": [value]}]))


def find_instances(aws: AwsClients, name: str, *, asg: bool = False, region: str | None = None) -> EnvironmentInstances:
    """The running instances, or a CommandError that tells unknown names from empty ones."""
    where = region or aws.default_region or "the default region"
    found = running_instances(aws.client("ec2", region), ASG_TAG if asg else EB_TAG, name)
    if found:
        return EnvironmentInstances(name, where, asg, found)
    if asg:
        groups = aws.client("autoscaling", region).describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        if not groups.get("AutoScalingGroups"):
            raise CommandError(f"There is no Auto Scaling group called {name} in {where}.")
        raise CommandError(f"Auto Scaling group {name} has no running instance in {where}.")
    envs = aws.client("elasticbeanstalk", region).describe_environments(EnvironmentNames=[name], IncludeDeleted=False)
    env = next((e for e in envs.get("Environments", []) if _is_live(e) and e.get("EnvironmentName") == name), None)
    if env is None:
        raise CommandError(f"There is no Elastic Beanstalk environment called {name} in {where}; `/eb-ip` lists them.")
    raise CommandError(f"Environment {name} has no running instance in {where} (status {env.get('Status', '?')}).")


def list_environments(aws: AwsClients, region: str | None = None) -> list[EnvironmentSummary]:
    pages = aws.client("elasticbeanstalk", region).get_paginator("describe_environments").paginate(IncludeDeleted=False)
    envs = [e for page in pages for e in page.get("Environments", []) if _is_live(e)]
    tagged = _running(aws.client("ec2", region), [{"Name": "tag-key", "Values": [EB_TAG]}])
    counts = Counter(_tag(raw, EB_TAG) for raw in tagged)
    envs.sort(key=lambda e: str(e["EnvironmentName"]).lower())
    return [
        EnvironmentSummary(e["EnvironmentName"], e.get("Status", "?"), _health(e), counts[e["EnvironmentName"]])
        for e in envs
    ]


def _is_live(env: Mapping[str, Any]) -> bool:
    return env.get("Status") != "Terminated"


def _health(env: Mapping[str, Any]) -> str:
    color, status = env.get("Health", ""), env.get("HealthStatus", "")
    return f"{color} ({status})" if color and status else color or status or "?"


# -- rendering


def local_time(moment: datetime, tz: ZoneInfo) -> str:
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def aligned(rows: Sequence[Sequence[str]], right: frozenset[int] = frozenset()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def render_environments(summaries: list[EnvironmentSummary], region: str) -> Reply:
    title = f"Elastic Beanstalk environments in {region}"
    if not summaries:
        return Reply(f"No {title}.", [section(f"No {title}.")])
    rows = [("environment", "status", "health", "running")]
    rows += [(s.name, s.status, s.health, str(s.instances)) for s in summaries]
    lines = aligned(rows, right=frozenset({3}))
    hint = "`/eb-ip ENV` lists an environment's instances, oldest first."
    return Reply("\n".join([title, *lines]), fit_blocks([header(title), *code_sections(lines), context(hint)]))


def table_lines(found: EnvironmentInstances, tz: ZoneInfo) -> list[str]:
    rows = [("#", "instance", "public ip", "private ip", "launched", "zone")]
    for n, i in enumerate(found.instances, 1):
        rows.append(
            (str(n), i.id, i.public_ip or PRIVATE_ONLY, i.private_ip or "-", local_time(i.launched_at, tz), i.az)
        )
    return aligned(rows, right=frozenset({0}))


def render_table(found: EnvironmentInstances, tz: ZoneInfo) -> Reply:
    title = f"{found.label}: {_plural(len(found.instances), 'running instance')}, oldest first"
    lines = table_lines(found, tz)
    asg = " --asg" if found.asg else ""
    hint = f"Region {found.region}. `/eb-ip {found.name} 1{asg}` gives one address; `ssh-config` sets up ssh."
    return Reply("\n".join([title, *lines]), fit_blocks([header(title), *code_sections(lines), context(hint)]))


def render_nth(found: EnvironmentInstances, n: int, tz: ZoneInfo) -> Reply:
    i = found.nth(n)
    where = i.address + ("" if i.public_ip else f" {PRIVATE_ONLY}")
    text = f"{found.label} #{n} of {len(found.instances)}: {where}, instance {i.id}"
    detail = f"Launched {local_time(i.launched_at, tz)} in {i.az}; private IP {i.private_ip or '-'}; {found.region}."
    blocks = [section(f"*{found.label}* #{n} of {len(found.instances)}: `{where}` · `{i.id}`"), context(detail)]
    return Reply(f"{text}\n{detail}", blocks)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _mrkdwn(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- ssh config


def ssh_config(
    env: str,
    public_url: str | None,
    token_path: str = TOKEN_PATH,
    kind: SshKind = "ip",
    *,
    asg: bool = False,
    region: str | None = None,
) -> str:
    """A ~/.ssh/config block: `ssh ENV.N` reaches running instance N (oldest first) of ENV."""
    name = _name(env, asg)
    if region is not None:
        region = _region(region)
    if not public_url:
        raise CommandError(
            "ssh-config needs the bot's public address: set OPSBOT_PUBLIC_URL (e.g. https://opsbot.example.com)."
        )
    if not _PUBLIC_URL.fullmatch(public_url):
        raise CommandError("OPSBOT_PUBLIC_URL has characters that cannot go into an ssh config; use a plain https URL.")
    if not (token_path and set(token_path) <= _TOKEN_PATH_CHARS and "~" not in token_path[1:]):
        raise UsageError("The token path may use only letters, digits and . _ / + - (and ~/ at the start).")
    route = f"{public_url.rstrip('/')}{f'/region/{region}' if region else ''}/{'asg' if asg else 'eb'}/{name}"
    # %% because ssh expands % in a ProxyCommand (a bare %s is a fatal "unknown key"); sh gets %s.
    fetch = _bearer_curl(token_path, "%%s")
    if kind == "ssm":
        aws_region = f" --region {region}" if region else ""
        connect = (
            f'id=$({fetch} "{route}/id/$n") || exit 1; exec aws ssm start-session{aws_region} --target "$id" '
            '--document-name AWS-StartSSHSession --parameters "portNumber=$1"'
        )
    else:
        connect = f'ip=$({fetch} "{route}/ip/$n") || exit 1; exec nc "$ip" "$1"'
    alias = name.lower()  # ssh lowercases Host patterns but not the name typed, so only lowercase matches
    # ssh runs this with /bin/sh, pasting in %n (the alias as typed) unquoted: quoted here, it reaches the
    # snippet as $0 even if it holds ; or $( ), and "${0##*.}" must then be all digits.
    snippet = (
        f'n=${{0##*.}}; case $n in ""|*[!0-9]*) echo "opsbot: use {alias}.N, N = 1 for the oldest instance" 1>&2; '
        f"exit 2;; esac; {connect}"
    )
    known_hosts = "~/.ssh/known_hosts_opsbot_" + re.sub(r"[^A-Za-z0-9._-]", "_", name)
    curl = "curl (7.55+)"
    needs = f"{curl} and the AWS CLI with the Session Manager plugin" if kind == "ssm" else f"{curl} and nc"
    return "\n".join(
        [
            f"# opsbot: ssh {alias}.N reaches running instance N of {name}, 1 = oldest (as /eb-ip numbers them).",
            f"# Needs {needs}, and your token in {token_path} (/eb-ip token).",
            f"# Host keys are trusted on first use and kept per alias in {known_hosts}. When an instance is",
            f"# replaced ssh refuses the new key instead of trusting it silently: check /eb-ip {name}, then",
            f"#   ssh-keygen -R {alias}.N -f {known_hosts}",
            f"Host {alias}.*",
            "    User ec2-user",
            f"    ProxyCommand sh -c '{snippet}' '%n' %p",
            "    StrictHostKeyChecking accept-new",
            f"    UserKnownHostsFile {known_hosts}",
            "",
        ]
    )


def _bearer_curl(token_path: str, placeholder: str = "%s") -> str:
    """curl reading the Authorization header from stdin (-H @-, curl 7.55+). Any local user can read argv
    (ps, /proc/PID/cmdline); printf is a shell builtin, so the only argv here is cat's, with the path."""
    path = f'"$HOME/{token_path[2:]}"' if token_path.startswith("~/") else token_path  # no ~ inside quotes
    return f'printf "Authorization: Bearer {placeholder}\\n" "$(cat {path})" | curl -fsS --max-time 20 -H @-'


def ssh_config_for_cli(env: str, settings: Settings, token_path: str = TOKEN_PATH) -> str:
    """What `opsbot ssh-config ENV` prints: the public-IP variant for the default region."""
    return ssh_config(env, settings.public_url, token_path, "ip")


def _ssh_config_reply(request: EbIpRequest, ctx: CommandContext) -> Reply:
    config = ssh_config(
        request.name, ctx.settings.public_url, kind=request.ssh_kind, asg=request.asg, region=request.region
    )
    save = _save_command(issue_token(ctx.store, ctx.user_id))
    first, second, third = (
        "1. Save your new personal token (only you see it; `/eb-ip revoke me` revokes all of yours):",
        "2. Append this block to ~/.ssh/config:",
        f"3. Then: ssh {request.name.lower()}.1",
    )
    blocks = [section(_mrkdwn(first)), *code_sections([_mrkdwn(save)]), section(second)]
    blocks += [*code_sections(_mrkdwn(config).splitlines()), section(third)]
    return Reply.private("\n".join([first, save, second, "", config, third]), blocks)


def _save_command(token: str) -> str:
    return f"mkdir -p ~/.config/opsbot && (umask 077; printf '%s\\n' '{token}' > {TOKEN_PATH})"


# -- tokens


def _token_reply(ctx: CommandContext) -> Reply:
    token = issue_token(ctx.store, ctx.user_id)
    base = ctx.settings.public_url or "OPSBOT_PUBLIC_URL"
    lines = [
        "Your personal opsbot token (only you see it; treat it like a password):",
        token,
        f"Save it:  {_save_command(token)}",
        f"Use it:   {_bearer_curl(TOKEN_PATH)} {base}/eb/ENV/ip",
        "curl reads the header from the pipe, so the token never shows in the process list.",
        "Revoke all your tokens with `/eb-ip revoke me`.",
    ]
    blocks = [section(lines[0]), *code_sections([token]), *code_sections([_mrkdwn(line) for line in lines[2:4]])]
    return Reply.private("\n".join(lines), [*blocks, context(" ".join(lines[4:]))])


def _revoke_reply(request: EbIpRequest, ctx: CommandContext) -> Reply:
    user = ctx.user_id if request.user == "me" else request.user
    if user != ctx.user_id:
        require_admin(ctx, "revoke another user's tokens")
    count = ctx.store.revoke_tokens(user)
    ctx.store.audit(ctx.user_id, "token.revoke", user=user, revoked=count)
    if user == ctx.user_id:
        text = f"Revoked {_plural(count, 'token')} of yours." if count else "You have no active tokens."
        return Reply.private(text, [section(text)])
    text = f"Revoked {_plural(count, 'token')} of user {user}."
    return Reply.private(text, [section(f"Revoked {_plural(count, 'token')} of <@{user}>.")])


# -- entry points


def handle(text: str, ctx: CommandContext) -> Reply:
    request = parse(text)
    tz = ctx.settings.timezone
    if request.kind == "list":
        where = request.region or ctx.aws.default_region or "the default region"
        return render_environments(list_environments(ctx.aws, request.region), where)
    if request.kind == "token":
        return _token_reply(ctx)
    if request.kind == "revoke":
        return _revoke_reply(request, ctx)
    if request.kind == "ssh_config":
        return _ssh_config_reply(request, ctx)
    found = find_instances(ctx.aws, request.name, asg=request.asg, region=request.region)
    if request.kind == "nth":
        assert request.n is not None
        return render_nth(found, request.n, tz)
    return render_table(found, tz)


def answer_http(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    """`/eb/ENV/ip[/N]`, `/eb/ENV/id[/N]`, the same under `/asg/NAME` and `/region/R`: one value a line."""
    asg = match["asg"] is not None
    name = _name(match["asg"] if asg else match["env"], asg)
    region = _region(match["region"]) if match["region"] is not None else None
    n = _n(match["n"]) if match["n"] is not None else None
    found = find_instances(ctx.aws, name, asg=asg, region=region)
    chosen = found.instances if n is None else (found.nth(n),)
    return HttpResponse(200, "".join(f"{i.id if match['what'] == 'id' else i.address}\n" for i in chosen))


# Names are checked by the handler, so a bad one is a 400 that says why; ASG names may hold "/".
_ROUTE = re.compile(
    r"(?:/region/(?P<region>[^/]*))?/(?:eb/(?P<env>[^/]*)|asg/(?P<asg>.*))/(?P<what>ip|id)(?:/(?P<n>[^/]*))?"
)

HELP = """\
• `/eb-ip` — Elastic Beanstalk environments: status, health, running instances.
• `/eb-ip my-env` — my-env's running instances, numbered oldest first (ties by instance id): \
id, public and private IP, launch time, zone. No public IP is marked _(private only)_.
• `/eb-ip my-env 2` — address and id of instance 2 (public IP, else private IP).
• `/eb-ip my-env-2 ssh-config` — a block for ~/.ssh/config and a fresh token, shown only to you: \
`ssh my-env-2.3` then reaches instance 3 (the dot keeps names ending in digits unambiguous). \
Add `--ssm` for instances without public IPs (AWS Session Manager by instance id). \
Host keys use `StrictHostKeyChecking accept-new` with one known_hosts file per environment: \
a key is trusted on first use, and a replaced instance makes ssh refuse the new key rather than \
trust it silently; check `/eb-ip my-env-2`, then remove the old key with the `ssh-keygen -R` line in the block.
• `/eb-ip token` — a personal token for the HTTP endpoint, shown only to you. \
`/eb-ip revoke me` revokes yours; admins: `/eb-ip revoke @someone`.
• `--region eu-west-1` — another region. `--asg` — the name is an EC2 Auto Scaling group: `/eb-ip --asg web-asg 2`.
HTTP (header `Authorization: Bearer TOKEN`): `GET /eb/ENV/ip` (one address a line), `/eb/ENV/ip/N`, \
`/eb/ENV/id/N` (instance id); `/asg/NAME/…` for groups; prefix `/region/R` for another region.
Environment names: 4–40 ASCII letters, digits and hyphens, no hyphen at either end."""

COMMAND = SlashCommand(
    name="/eb-ip",
    summary="Running instances of an Elastic Beanstalk environment, oldest first, and ssh access by number",
    usage_hint="[env [n] | env ssh-config [--ssm] | token | revoke USER] [--region R] [--asg]",
    help=HELP,
    handle=handle,
    routes=(Route("GET", _ROUTE, answer_http),),
)
