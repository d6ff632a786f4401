"""The demo's accounts scene: two moto accounts, one channel on each, the Slack user in the assumed role.

moto assumes any role and answers the assumed credentials from the role's account, so
`[accounts.prod]` is a second account id in the same moto server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.local.demo import DemoBot

PROD_ACCOUNT = "222222222222"
PROD_CHANNEL = "C0PROD"
# The demo channel (C0DEMO) and the HTTP routes stay on the bot's own account: the other scenes
# read what they seed there.
ACCOUNTS_CONFIG = f"""
[accounts.demo]
label = "the bot's own"

[accounts.prod]
role_arn = "arn:aws:iam::{PROD_ACCOUNT}:role/opsbot-target"
label = "Production"

[channels."*"]
default_account = "demo"

[channels.{PROD_CHANNEL}]
default_account = "prod"
accounts = ["prod", "demo"]
"""


def accounts_scene(bot: DemoBot) -> None:
    from bot.aws import AwsClients
    from bot.local.demo import ADMIN, ENGINEER

    prod = AwsClients().assumed(f"arn:aws:iam::{PROD_ACCOUNT}:role/opsbot-target", "opsbot-demo-seed")
    eb = prod.client("elasticbeanstalk")
    eb.create_application(ApplicationName="payments")
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    eb.create_environment(ApplicationName="payments", EnvironmentName="payments-prod", SolutionStackName=stack)

    bot.narrate(
        f"Accounts: #{PROD_CHANNEL} works in the prod account (moto account {PROD_ACCOUNT}), this channel in the "
        "bot's own. opsbot assumes prod's role as the Slack user: CloudTrail there shows slack-<user id>."
    )
    bot.slash("/eb-ip", channel=PROD_CHANNEL)
    bot.slash("/eb-ip --account demo", channel=PROD_CHANNEL)
    bot.slash("/eb-ip --account prod")  # this channel may not use prod
    bot.narrate("The audit trail: what was asked, where, in which account, and how it ended (admins).")
    bot.slash("/opsbot-audit --account prod", user=ADMIN)
    bot.slash("/opsbot-audit --user " + f"<@{ENGINEER}|engineer> --limit 3", user=ADMIN)
