"""The ~/.ssh/config block: `ssh ENV.N` reaches running instance N, through the bot's authenticated route."""

from __future__ import annotations

import re

from bot.args import REGION
from bot.command import CommandContext, CommandError, UsageError
from bot.reply import Reply
from bot.settings import Settings
from bot.slack.blocks import code_sections, section
from bot.text import Mrkdwn
from bot.tokens import issue_token
from commands.eb_ip.parse import _ASG_CHARS, EbIpRequest, SshKind, valid_name

TOKEN_PATH = "~/.config/opsbot/token"
_TOKEN_PATH_CHARS = _ASG_CHARS - frozenset(":") | frozenset("~+")
MAX_INSTANCE = 20  # ssh ENV.1 to ENV.20: a Host block each
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.:\[\]_-]+(?:/[A-Za-z0-9._~/-]*)?")


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
    name = valid_name(env, asg)
    if region is not None:
        region = REGION.read(region)
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
    fetch = bearer_curl(token_path, "%%s")

    def connect(n: int) -> str:
        if kind == "ssm":
            aws_region = f" --region {region}" if region else ""
            return (
                f'id=$({fetch} "{route}/id/{n}") || exit 1; exec aws ssm start-session{aws_region} --target "$id" '
                '--document-name AWS-StartSSHSession --parameters "portNumber=$1"'
            )
        return f'ip=$({fetch} "{route}/ip/{n}") || exit 1; exec nc "$ip" "$1"'

    alias = name.lower()  # ssh lowercases Host patterns but not the name typed, so only lowercase matches
    # The alias typed never reaches a shell: ssh pastes %n into the command unquoted, and only clients
    # since the CVE-2023-51385 fix refuse names holding ' or $( ). One block per number, the number
    # written here; ssh takes each option from the first block that matches, so the last block only
    # catches what the others do not.
    hosts = [
        line
        for n in range(1, MAX_INSTANCE + 1)
        for line in (f"Host {alias}.{n}", f"    ProxyCommand sh -c '{connect(n)}' opsbot %p")
    ]
    refuse = f'echo "opsbot: use {alias}.N, N = 1 to {MAX_INSTANCE} (1 = the oldest instance)" 1>&2; exit 2'
    known_hosts = "~/.ssh/known_hosts_opsbot_" + re.sub(r"[^A-Za-z0-9._-]", "_", name)
    curl = "curl (7.55+)"
    needs = f"{curl} and the AWS CLI with the Session Manager plugin" if kind == "ssm" else f"{curl} and nc"
    return "\n".join(
        [
            f"# opsbot: ssh {alias}.N reaches running instance N of {name}, 1 = oldest (as /eb-ip numbers them),",
            f"# N up to {MAX_INSTANCE}.",
            f"# Needs {needs}, and your token in {token_path} (/eb-ip token).",
            f"# Host keys are trusted on first use and kept per alias in {known_hosts}. When an instance is",
            f"# replaced ssh refuses the new key instead of trusting it silently: check /eb-ip {name}, then",
            f"#   ssh-keygen -R {alias}.N -f {known_hosts}",
            *hosts,
            f"Host {alias}.*",
            f"    ProxyCommand sh -c '{refuse}'",
            "    User ec2-user",
            "    StrictHostKeyChecking accept-new",
            f"    UserKnownHostsFile {known_hosts}",
            "",
        ]
    )


def bearer_curl(token_path: str, placeholder: str = "%s") -> str:
    """curl reading the Authorization header from stdin (-H @-, curl 7.55+). Any local user can read argv
    (ps, /proc/PID/cmdline); printf is a shell builtin, so the only argv here is cat's, with the path."""
    path = f'"$HOME/{token_path[2:]}"' if token_path.startswith("~/") else token_path  # no ~ inside quotes
    return f'printf "Authorization: Bearer {placeholder}\\n" "$(cat {path})" | curl -fsS --max-time 20 -H @-'


def ssh_config_for_cli(env: str, settings: Settings, token_path: str = TOKEN_PATH) -> str:
    """What `opsbot ssh-config ENV` prints: the public-IP variant for the default region."""
    return ssh_config(env, settings.public_url, token_path, "ip")


def ssh_config_reply(request: EbIpRequest, ctx: CommandContext) -> Reply:
    config = ssh_config(
        request.name, ctx.settings.public_url, kind=request.ssh_kind, asg=request.asg, region=request.region
    )
    save = save_command(issue_token(ctx.store, ctx.user_id))
    first, second, third = (
        Mrkdwn("1. Save your new personal token (only you see it; `/eb-ip revoke me` revokes all of yours):"),
        Mrkdwn("2. Append this block to ~/.ssh/config:"),
        Mrkdwn("3. Then: ssh {}.1").format(request.name.lower()),
    )
    blocks = [section(first), *code_sections([Mrkdwn.escape(save)]), section(second)]
    blocks += [*code_sections(Mrkdwn.escape(config).splitlines()), section(third)]
    return Reply.private(Mrkdwn("\n").join([first, save, second, "", config, third]), blocks)


def save_command(token: str) -> str:
    return f"mkdir -p ~/.config/opsbot && (umask 077; printf '%s\\n' '{token}' > {TOKEN_PATH})"
