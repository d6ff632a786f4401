"""/eb-ip's words: Slack text is not shell, so it is whitespace-split and every word checked."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from bot.command import MAX_TEXT, UsageError

_ENV_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{2,38}[A-Za-z0-9]")
_ENV_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
_ASG_CHARS = _ENV_CHARS | frozenset("._:/")
_REGION = re.compile(r"[a-z]{2}(?:-gov)?-[a-z]+-[0-9]")
_USER_ID = re.compile(r"[UW][A-Z0-9]{2,20}")
_MENTION = re.compile(r"<@([UW][A-Z0-9]{2,20})(?:\|[^<>]{0,80})?>")
_ECHO_SAFE = frozenset(chr(c) for c in range(0x21, 0x7F)) - frozenset("`<>&*_~")

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
            region = valid_region(value if eq else next(it, ""))
        elif flag in ("--asg", "--ssm") and not eq:
            asg, ssm = asg or flag == "--asg", ssm or flag == "--ssm"
        elif word.startswith(("-", "\u2013", "\u2014")) and not re.fullmatch(r"-[0-9]+", word):
            unknown = unknown or word
        else:
            args.append(word)
    if unknown:
        if args and args[0].lower() not in ("token", "revoke"):
            valid_name(args[0], asg)  # "shop;rm -rf /": the name is the clearer complaint
        raise UsageError(f"Unknown option {shown(unknown)}.")
    if not args:
        if asg or ssm:
            raise UsageError("--asg and --ssm need a name: `/eb-ip --asg my-group 2`.")
        return EbIpRequest("list", region=region)
    if args[0].lower() in ("token", "revoke"):
        if len(args) > 1 or region or asg or ssm or args[0].lower() == "revoke":
            raise UsageError(f"`{args[0].lower()}` takes no other words or options.")
        return EbIpRequest("token")
    name = valid_name(args[0], asg)
    if len(args) > 2:
        raise UsageError(f"Too many words: a name and then a number or ssh-config, not also {shown(args[2])}.")
    if len(args) == 1 or args[1].lower() not in ("ssh-config", "ssh_config"):
        if ssm:
            raise UsageError("--ssm goes with ssh-config: `/eb-ip my-env ssh-config --ssm`.")
        if len(args) == 1:
            return EbIpRequest("table", name=name, region=region, asg=asg)
        return EbIpRequest("nth", name=name, n=instance_number(args[1]), region=region, asg=asg)
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
    echoed = shown(word) if all(c in _ECHO_SAFE for c in word) and word else "That"
    echoed = echoed[:1].upper() + echoed[1:]
    why = f": it contains {_char(bad)}" if bad else ""
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


def valid_region(word: str) -> str:
    region = word.lower()
    if not _REGION.fullmatch(region):
        raise UsageError(f"--region needs an AWS region like eu-west-1, not {shown(word) if word else 'nothing'}.")
    return region


def _revoked_user(rest: str) -> str:
    if rest.lower() == "me":
        return "me"
    found = _MENTION.fullmatch(rest) or _USER_ID.fullmatch(rest)
    if not found:
        raise UsageError("Say whose tokens to revoke: `/eb-ip revoke me`, `/eb-ip revoke @someone` or a user id.")
    return found.group(1) if found.re is _MENTION else found.group(0)


def shown(word: str) -> str:
    """A user's word, safe to echo into Slack and a terminal: quoted, or described."""
    if all(c in _ECHO_SAFE for c in word) and 0 < len(word) <= 60:
        return f"`{word}`"
    odd = next((c for c in word if c not in _ECHO_SAFE), None)
    return f"a word with {_char(odd)}" if odd else f"a {len(word)}-character word"


def _char(c: str) -> str:
    code = f"U+{ord(c):04X} {unicodedata.name(c, '')}".rstrip()
    return f"'{c}' ({code})" if c in _ECHO_SAFE else code
