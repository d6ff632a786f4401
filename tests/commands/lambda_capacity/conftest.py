"""The clients that build the demo account, the account, and a context in which UADMIN1 and UADMIN2 are admins:
for /lambda-capacity as a user sees it."""

from __future__ import annotations

import dataclasses

import pytest

from bot.aws import AwsClients
from bot.command import CommandContext
from bot.local.seeds_capacity import DemoAccount, demo_account
from bot.settings import Settings
from bot.state import Store


@pytest.fixture(scope="module")
def builder_aws(moto_url: str) -> AwsClients:
    """Clients of their own for building the account, so the bot's pacing never slows set-up."""
    return AwsClients()


@pytest.fixture
def account(builder_aws: AwsClients, moto: str) -> DemoAccount:
    return demo_account(builder_aws)


@pytest.fixture
def ctx(settings: Settings, aws_clients: AwsClients, store: Store, moto: str) -> CommandContext:
    settings = dataclasses.replace(
        settings,
        admins=frozenset({"UADMIN1", "UADMIN2"}),
        command_options={"lambda-capacity": {"rate_per_second": 1000}},
    )
    return CommandContext(settings, aws_clients, store, user_id="UUSER01", channel_id="CCHAN01")
