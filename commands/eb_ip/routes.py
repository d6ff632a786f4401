"""The authenticated HTTP routes a ProxyCommand calls: one value a line, every failure a non-2xx."""

from __future__ import annotations

import re

from bot.args import REGION
from bot.command import CommandContext, HttpRequest, HttpResponse
from commands.eb_ip.instances import find_instances
from commands.eb_ip.parse import instance_number, valid_name


def answer_http(match: re.Match[str], request: HttpRequest, ctx: CommandContext) -> HttpResponse:
    """`/eb/ENV/ip[/N]`, `/eb/ENV/id[/N]`, the same under `/asg/NAME` and `/region/R`: one value a line."""
    asg = match["asg"] is not None
    name = valid_name(match["asg"] if asg else match["env"], asg)
    region = REGION.read(match["region"]) if match["region"] is not None else None
    n = instance_number(match["n"]) if match["n"] is not None else None
    found = find_instances(ctx.aws, name, asg=asg, region=region)
    chosen = found.instances if n is None else (found.nth(n),)
    return HttpResponse(200, "".join(f"{i.id if match['what'] == 'id' else i.address}\n" for i in chosen))
