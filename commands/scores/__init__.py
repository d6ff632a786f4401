"""/scores: a live scoreboard kept from the first poll, with ranking tables and charts.

`/scores start <url>` (admins) polls a game's scoreboard endpoint into the state store;
`/scores [GAME] [--all]` shows the ranking, `/scores chart` draws it, `/scores mark`, `freeze`,
`export` and `stop` do what they say. The poller (`poller`) is `JOB` in `opsbot serve` and
`scores_handler` on Lambda.
"""

from __future__ import annotations

from bot.command import EnvOptions, Job, LambdaEntry, SlashCommand, Verb, first_word, lazy

# Declared here, not in the modules that use them: a Lambda cold start imports this file alone.
NAME = "/scores"
ENV_OPTIONS: EnvOptions = {
    # On Lambda the poller is a schedule: its rate, so that `/scores start` states the interval kept.
    "OPSBOT_SCORES_TICK_SECONDS": ("tick_seconds", float),
    "OPSBOT_SCORES_ALLOW_HTTP_HOSTS": ("allow_http_hosts", str),
    "OPSBOT_SCORES_CHANNEL": ("channel", str),
    "OPSBOT_SCORES_POST_EVERY_MINUTES": ("post_every_minutes", float),
}
JOB = Job("scores-poller", lazy("commands.scores.options:poller_interval"), lazy("commands.scores.poller:run_job"))
LAMBDA_ENTRY = LambdaEntry("scores_handler", lazy("commands.scores.poller:run_scheduled"))


HELP = """\
Tracks a game's scoreboard from its JSON endpoint, from the first poll on.
• `/scores [GAME] [--all]` — the ranking now: rank, team, profit, change and move over the last period; top 20, \
or every team with `--all`.
• `/scores chart [GAME] [--since 1h] [--top N] [--rank]` — a line per team and the top-list beside it; \
`--rank` adds rank over time. Lead changes and marks are drawn on the time axis.
• `/scores mark load spike [--game GAME]` — an event marker on the charts.
• `/scores export [GAME]` — the history as CSV. Admins: `/scores archive [GAME]` commits the history, \
the final charts and a summary to the configured git repository.
• Admins: `/scores start <url> [--every 30s] [--name GAME]`, `/scores stop [GAME]`, \
`/scores freeze <18:00 | in 30m | ISO time | now | off> [--game GAME]` \
(after it, others see the board as at the freeze)."""

COMMAND = SlashCommand(
    name=NAME,
    summary="Scoreboard tracking with ranking tables and charts",
    usage_hint=(
        "[GAME] [--all] | chart [--since 1h] [--top N] [--rank] | start URL | stop | mark | freeze | export | archive"
    ),
    help=HELP,
    handle=lazy("commands.scores.handler:handle"),
    jobs=(JOB,),
    lambda_entries=(LAMBDA_ENTRY,),
    env_options=ENV_OPTIONS,
    home=lazy("commands.scores.home:home_blocks"),
    aws=False,  # a scoreboard is on the web: `--account` means nothing here
    verbs=tuple(
        Verb(verb, first_word(verb), destructive=verb in ("start", "stop", "freeze"))
        for verb in ("start", "stop", "freeze", "mark", "archive", "export", "chart")
    ),
)
