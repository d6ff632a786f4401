"""`/eb-ip revoke @jane` as Slack sends it with the manifest's should_escape: true, through the real HTTP stack:
a signed request to the served Bolt app, the reply read back from the Slack stand-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from bot.tokens import issue_token, token_hash
from commands import eb_ip

if TYPE_CHECKING:
    from tests.conftest import Bot

JANE = "U0JANE01"


@pytest.mark.parametrize("typed", [f"<@{JANE}|jane>", f"<@{JANE}>", JANE])
def test_an_admin_revokes_janes_tokens_named_as_slack_sends_her(serve_bot: Callable[..., Bot], typed: str) -> None:
    bot = serve_bot([eb_ip.COMMAND], OPSBOT_ADMINS="U0ADMIN1")
    token = issue_token(bot.runtime.store, JANE)
    assert bot.runtime.store.token_owner(token_hash(token)) == JANE

    status, response_url = bot.send(f"revoke {typed}", command="/eb-ip", user_id="U0ADMIN1")

    assert status == 200
    assert bot.reply_to(response_url)["text"] == f"Revoked 1 token of user {JANE}."
    assert bot.runtime.store.token_owner(token_hash(token)) is None


def test_a_plain_at_name_is_explained_not_contradicted(serve_bot: Callable[..., Bot]) -> None:
    bot = serve_bot([eb_ip.COMMAND], OPSBOT_ADMINS="U0ADMIN1")
    status, response_url = bot.send("revoke @jane", command="/eb-ip", user_id="U0ADMIN1")
    assert status == 200
    assert bot.reply_to(response_url)["text"].startswith("`@jane` is not a member here")
