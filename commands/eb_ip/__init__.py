"""/eb-ip: the running instances of an Elastic Beanstalk environment (or Auto Scaling group), oldest first.

`/eb-ip my-env 2` is the second-oldest running instance; `ssh my-env.2` reaches it through the
ssh config block `/eb-ip my-env ssh-config` prints, which asks the bot's authenticated HTTP route
`GET /eb/my-env/ip/2` for the address. Flow: parse -> AWS (EC2 tags) -> result -> render.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bot.command import CommandContext, EnvOptions, Route, SlashCommand, Verb, lazy
from bot.reply import Reply

__all__ = ["COMMAND"]

# Declared here, not in the modules that use them: a Lambda cold start imports this file alone.
ACTION_REVOKE_MINE = "eb_ip_revoke_my_tokens"
# Names are checked by the handler, so a bad one is a 400 that says why; ASG names may hold "/".
ROUTE = re.compile(
    r"(?:/region/(?P<region>[^/]*))?/(?:eb/(?P<env>[^/]*)|asg/(?P<asg>.*))/(?P<what>ip|id)(?:/(?P<n>[^/]*))?"
)
ENV_OPTIONS: EnvOptions = {
    "OPSBOT_EB_IP_CHECKS": ("checks", lazy("commands.eb_ip.checks:json_object")),
    "OPSBOT_EB_IP_CHECK_USERS": ("check_users", lazy("commands.eb_ip.checks:id_list")),
    "OPSBOT_EB_IP_CHECK_TIMEOUT_SECONDS": ("check_timeout_seconds", int),
}


def handle(text: str, ctx: CommandContext) -> Reply:
    # Imported here, not at the top: a Lambda cold start acks before any of it runs.
    from commands.eb_ip.checks import run_check
    from commands.eb_ip.instances import find_instances, list_environments
    from commands.eb_ip.parse import parse
    from commands.eb_ip.render import render_environments, render_nth, render_table
    from commands.eb_ip.ssh_config import ssh_config_reply
    from commands.eb_ip.tokens import revoke_reply, token_reply

    request = parse(text)
    tz = ctx.settings.timezone
    if request.kind == "list":
        where = request.region or ctx.aws.default_region or "the default region"
        return render_environments(list_environments(ctx.aws, request.region), where)
    if request.kind == "token":
        return token_reply(ctx)
    if request.kind == "revoke":
        return revoke_reply(request, ctx)
    if request.kind == "run":
        return run_check(request, ctx)
    if request.kind == "ssh_config":
        return ssh_config_reply(request, ctx)
    found = find_instances(ctx.aws, request.name, asg=request.asg, region=request.region)
    if request.kind == "nth":
        assert request.n is not None
        return render_nth(found, request.n, tz)
    return render_table(found, tz)


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
• `/eb-ip my-env 2 run uptime` — admins (or `check_users`): run one configured check on instance 2 over SSH \
(through the bastion when it has only a private address) and show its output and exit status. \
Only the checks named in the settings (`[commands.eb-ip.checks]`) run; every run is audited.
• `/eb-ip token` — a personal token for the HTTP endpoint, shown only to you. \
`/eb-ip revoke me` revokes yours; admins: `/eb-ip revoke @someone`.
• `--region eu-west-1` — another region. `--asg` — the name is an EC2 Auto Scaling group: `/eb-ip --asg web-asg 2`.
HTTP (header `Authorization: Bearer TOKEN`): `GET /eb/ENV/ip` (one address a line), `/eb/ENV/ip/N`, \
`/eb/ENV/id/N` (instance id); `/asg/NAME/…` for groups; prefix `/region/R` for another region.
Environment names: 4–40 ASCII letters, digits and hyphens, no hyphen at either end."""

_VERBS = (("run", "run"), ("ssh-config", "ssh_config"), ("token", "token"), ("revoke", "revoke"))


def _asks_for(kind: str) -> Callable[[str], bool]:
    def asks(text: str) -> bool:
        from commands.eb_ip.parse import parse

        return parse(text).kind == kind

    return asks


COMMAND = SlashCommand(
    name="/eb-ip",
    summary="Running instances of an Elastic Beanstalk environment, oldest first, and ssh access by number",
    usage_hint="[env [n] | env n run CHECK | env ssh-config [--ssm] | token | revoke USER] [--region R] [--asg]",
    help=HELP,
    handle=handle,
    routes=(Route("GET", ROUTE, lazy("commands.eb_ip.routes:answer_http")),),
    usage_note=lazy("commands.eb_ip.checks:checks_note"),
    home=lazy("commands.eb_ip.home:home_blocks"),
    buttons={ACTION_REVOKE_MINE: lazy("commands.eb_ip.home:press_revoke")},
    env_options=ENV_OPTIONS,
    # The App Home's "Revoke my tokens" is `revoke` pressed: the policy checks it as the verb.
    verbs=tuple(
        Verb(name, _asks_for(kind), buttons=(ACTION_REVOKE_MINE,) if name == "revoke" else ()) for name, kind in _VERBS
    ),
)
