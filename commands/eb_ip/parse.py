"""/eb-ip's words: Slack text is not shell, so it is whitespace-split and every word checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.args import REGION, Syntax, parse_args, slack_user, split_verb, switch
from bot.command import UsageError
from bot.text import ECHO_SAFE, char_name, shown

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")
_ENV_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ASG_CHARS = _ENV_CHARS | frozenset("._:/")

ASG, SSM = switch("--asg"), switch("--ssm")
_EXTRA = "/eb-ip takes a name, then a number or ssh-config"
# Extra words are explained below, where the first unexpected one is known (run takes two more).
SYNTAX = Syntax((REGION, ASG, SSM), words=500, extra_word=_EXTRA)
_CHECK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}")

Kind = Literal["list", "table", "nth", "ssh_config", "token", "revoke", "run"]
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
    check: str = ""  # for run: the name of a configured check


def parse(text: str) -> EbIpRequest:
    verb, rest = split_verb(text, "revoke")
    if verb:  # a mention may hold spaces ("<@U0123|alice smith>"), so the rest is read whole
        return EbIpRequest("revoke", user=_revoked_user(rest.strip()))
    args = parse_args(text, SYNTAX)
    words, region, asg, ssm = args.words, args.get(REGION), args.has(ASG), args.has(SSM)
    if not words:
        if asg or ssm:
            raise UsageError("--asg and --ssm need a name: `/eb-ip --asg my-group 2`.")
        return EbIpRequest("list", region=region)
    if words[0].lower() in ("token", "revoke"):
        if len(words) > 1 or region or asg or ssm or words[0].lower() == "revoke":
            raise UsageError(f"`{words[0].lower()}` takes no other words or options.")
        return EbIpRequest("token")
    name = valid_name(words[0], asg)
    runs = len(words) > 2 and words[1].lower() not in ("ssh-config", "ssh_config") and words[2].lower() == "run"
    if len(words) > (4 if runs else 2):
        extra = words[4 if runs else 2]
        raise UsageError(f"{shown(extra, first=True)} was not expected: {'run takes one check' if runs else _EXTRA}.")
    if len(words) > 2:
        if ssm:
            raise UsageError("--ssm goes with ssh-config: `/eb-ip my-env ssh-config --ssm`.")
        n = instance_number(words[1])
        return EbIpRequest("run", name=name, n=n, region=region, asg=asg, check=check_name(words[3:]))
    if len(words) == 1 or words[1].lower() not in ("ssh-config", "ssh_config"):
        if ssm:
            raise UsageError("--ssm goes with ssh-config: `/eb-ip my-env ssh-config --ssm`.")
        if len(words) == 1:
            return EbIpRequest("table", name=name, region=region, asg=asg)
        return EbIpRequest("nth", name=name, n=instance_number(words[1]), region=region, asg=asg)
    return EbIpRequest("ssh_config", name=name, region=region, asg=asg, ssh_kind="ssm" if ssm else "ip")


def valid_name(word: str, asg: bool) -> str:
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
    echoed = shown(word, first=True) if word and set(word) <= ECHO_SAFE else "That"
    why = f": it contains {char_name(bad)}" if bad else ""
    raise UsageError(f"{echoed} is not {what}{why}. {rule}.")


def instance_number(word: str) -> int:
    digits = word.removeprefix("#")
    if re.fullmatch(r"-[0-9]+", digits) or re.fullmatch(r"0+", digits):
        raise UsageError("Instances are numbered from 1 (the oldest running instance).")
    if not re.fullmatch(r"[0-9]+", digits):
        raise UsageError(f"Expected an instance number or `ssh-config` after the name, not {shown(word)}.")
    if len(digits) > 6:  # int() of thousands of digits is slow or refused; no group is that big
        raise UsageError(f"Instance number {digits[:12]}… is far larger than any environment.")
    return int(digits)


def check_name(words: tuple[str, ...]) -> str:
    """The name of a check, as the map in the settings names them; not a command."""
    if not words:
        return ""  # the command answers with the configured checks
    if not _CHECK_NAME.fullmatch(words[0].lower()):
        raise UsageError(f"{shown(words[0], first=True)} is not a check name: `run` takes a name from the list below.")
    return words[0].lower()


def _revoked_user(rest: str) -> str:
    if rest.lower() == "me":
        return "me"
    user = slack_user(rest)
    if user:
        return user
    if rest.startswith("@"):  # Slack sends a plain "@name" only when it names no member
        raise UsageError(f"{shown(rest, first=True)} is not a member here: pick them from the list Slack shows at @.")
    raise UsageError("Say whose tokens to revoke: `/eb-ip revoke me`, `/eb-ip revoke @someone` or a user id.")
