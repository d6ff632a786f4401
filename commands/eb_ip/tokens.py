"""Personal tokens for the HTTP routes: issued to the caller only, revoked by their owner or an admin."""

from __future__ import annotations

from bot.command import CommandContext, require_admin
from bot.reply import Reply
from bot.slack.blocks import code_sections, context, section
from bot.text import Mrkdwn, plural, user_mention
from bot.tokens import issue_token
from commands.eb_ip.parse import EbIpRequest
from commands.eb_ip.ssh_config import TOKEN_PATH, bearer_curl, save_command


def token_reply(ctx: CommandContext) -> Reply:
    token = issue_token(ctx.store, ctx.user_id)
    base = ctx.settings.public_url or "OPSBOT_PUBLIC_URL"
    lines = [
        Mrkdwn("Your personal opsbot token (only you see it; treat it like a password):"),
        Mrkdwn.escape(token),
        Mrkdwn.escape(f"Save it:  {save_command(token)}"),
        Mrkdwn.escape(f"Use it:   {bearer_curl(TOKEN_PATH)} {base}/eb/ENV/ip"),
        Mrkdwn("curl reads the header from the pipe, so the token never shows in the process list."),
        Mrkdwn("Revoke all your tokens with `/eb-ip revoke me`."),
    ]
    blocks = [section(lines[0]), *code_sections(lines[1:2]), *code_sections(lines[2:4])]
    return Reply.private(Mrkdwn("\n").join(lines), [*blocks, context(Mrkdwn(" ").join(lines[4:]))])


def revoke_reply(request: EbIpRequest, ctx: CommandContext) -> Reply:
    user = ctx.user_id if request.user == "me" else request.user
    if user != ctx.user_id:
        require_admin(ctx, "revoke another user's tokens")
    count = ctx.store.revoke_tokens(user)
    ctx.store.audit(ctx.user_id, "token.revoke", user=user, revoked=count)
    if user == ctx.user_id:
        text = (
            Mrkdwn("Revoked {} of yours.").format(plural(count, "token"))
            if count
            else Mrkdwn("You have no active tokens.")
        )
        return Reply.private(text, [section(text)])
    text = Mrkdwn("Revoked {} of user {}.").format(plural(count, "token"), user)
    return Reply.private(
        text, [section(Mrkdwn("Revoked {} of {}.").format(plural(count, "token"), user_mention(user)))]
    )
