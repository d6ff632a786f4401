"""Who may do what: one rule set over commands and their verbs, by user, user group, channel and account.

Pure. The plumbing names the actions a request asks for (`/eb-ip`, `/lambda-capacity prune`,
a button's verb) and asks `Policy.refusal`; the settings build the rules from `[[policy]]` tables
and OPSBOT_ADMINS. The rules, in order of strength:

1. a matching `deny` rule refuses, naming itself;
2. an action that `allow` rules name may be done only by whom one of them matches;
3. a destructive action that no `allow` rule names is refused;
4. anything else is allowed (no rules at all: everything but destructive verbs, as before).

A rule names an action by its full name, by its command (which covers the command's verbs, but
for an `allow` only those not destructive), or by `*` (every command; for an `allow`, every
action not destructive) and `destructive` (every destructive verb).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

EVERYTHING = "*"
DESTRUCTIVE = "destructive"
ADMINS_RULE = "OPSBOT_ADMINS"

# A user group's members, or None when they cannot be read (no Slack client, Slack refused).
Members = Callable[[str], frozenset[str] | None]


@dataclass(frozen=True)
class Action:
    name: str  # "/lambda-capacity prune"
    destructive: bool = False

    @property
    def command(self) -> str:
        return self.name.split(" ", 1)[0]


@dataclass(frozen=True)
class Asker:
    user_id: str
    channel_id: str
    account: str | None  # the account's name; None: the bot's own credentials, no accounts configured


@dataclass(frozen=True)
class Rule:
    name: str  # what a refusal quotes: `[[policy]] name`, or its place
    allow: bool
    actions: frozenset[str]
    users: frozenset[str] = frozenset()
    usergroups: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()

    def names(self, action: Action) -> bool:
        if action.name in self.actions:
            return True
        if action.destructive and DESTRUCTIVE in self.actions:
            return True
        broad = EVERYTHING in self.actions or action.command in self.actions
        return broad and not (self.allow and action.destructive)

    def matches(self, asker: Asker, members: Members) -> bool:
        """Every condition the rule sets holds. A group that cannot be read counts as holding for a
        deny and not for an allow: a rule never lets anyone through because Slack was down."""
        if self.channels and asker.channel_id not in self.channels:
            return False
        if self.accounts and asker.account not in self.accounts:
            return False
        who: list[bool] = []
        if self.users:
            who.append(asker.user_id in self.users)
        if self.usergroups:
            who.append(any(_member(members(g), asker.user_id, not self.allow) for g in sorted(self.usergroups)))
        return not who or any(who)  # users and groups widen each other; channels and accounts narrow


def _member(members: frozenset[str] | None, user_id: str, unknown: bool) -> bool:
    return unknown if members is None else user_id in members


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...] = ()

    def refusal(self, action: Action, asker: Asker, members: Members) -> str | None:
        """None when `asker` may do `action`, else one sentence naming the rule that refused."""
        naming = [rule for rule in self.rules if rule.names(action)]
        for rule in naming:
            if not rule.allow and rule.matches(asker, members):
                return f"`{action.name}` is refused here by the policy rule `{rule.name}`."
        allows = [rule for rule in naming if rule.allow]
        if any(rule.matches(asker, members) for rule in allows):
            return None
        if [rule.name for rule in allows] == [ADMINS_RULE]:
            return f"Only opsbot admins may use `{action.name}` (policy rule `{ADMINS_RULE}`); ask one of them."
        if allows:
            names = ", ".join(f"`{rule.name}`" for rule in allows)
            return f"`{action.name}` is allowed only by the policy rule(s) {names}, and none of them includes you here."
        if action.destructive:
            return f"`{action.name}` changes things, and no policy rule allows it for you (see {ADMINS_RULE})."
        return None

    def with_admins(self, admins: frozenset[str]) -> Policy:
        """OPSBOT_ADMINS: shorthand for one rule allowing them every destructive verb."""
        if not admins:
            return self
        return Policy((*self.rules, Rule(ADMINS_RULE, True, frozenset({DESTRUCTIVE}), users=admins)))
