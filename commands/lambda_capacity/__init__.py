"""/lambda-capacity: where a region's Lambda code storage goes, and a prune an admin confirms.

`/lambda-capacity [--region R | --all-regions] [--top N] [--refresh]` shows usage against the
quota, what functions and layers account for it, the growth forecast and what a prune would
free. `/lambda-capacity prune [--keep K] [function] [--region R]` (admins) shows a plan with a
Delete button; another admin may press it. Scanning lives in bot.code_storage, shared with the
monitor, and carrying out a confirmed plan in bot.code_storage_prune; this module parses,
renders, and answers the command and its buttons.
"""

from __future__ import annotations

from bot.command import EnvOptions, Job, LambdaEntry, SlashCommand, Verb, first_word, lazy

# Declared here, not in the modules that use them: a Lambda cold start imports this file alone.
NAME = "/lambda-capacity"
ACTION_DELETE = "lambda_capacity_prune_delete"
ACTION_CANCEL = "lambda_capacity_prune_cancel"
ENV_OPTIONS: EnvOptions = {
    "OPSBOT_CAPACITY_THRESHOLD_PERCENT": ("alarm_threshold_percent", float),
    "OPSBOT_CAPACITY_THRESHOLD_BYTES": ("alarm_threshold_bytes", int),
    "OPSBOT_CAPACITY_ALERT_CHANNEL": ("alert_channel", str),
    "OPSBOT_CAPACITY_SNS_TOPIC_ARN": ("sns_topic_arn", str),
    "OPSBOT_CAPACITY_REGIONS": ("monitor_regions", str),
}
JOB = Job(
    "lambda-capacity",
    lazy("commands.lambda_capacity.monitor:monitor_interval"),
    lazy("commands.lambda_capacity.monitor:run_job"),
    per_account=True,
)
LAMBDA_ENTRY = LambdaEntry("capacity_handler", lazy("commands.lambda_capacity.monitor:run_scheduled"))


HELP = f"""\
Shows Lambda code storage against the per-region quota (from GetAccountSettings), what functions \
(every version, $LATEST included) and layers account for it, growth and what a prune would free.
• `{NAME}` — the default region; `--region R` or `--all-regions`; `--top N` (1–100, default 10); \
`--refresh` rescans instead of using a result younger than a few minutes.
• `{NAME} prune [--keep K] [function] [--region R]` — admins: plans deleting versions beyond the newest K \
(default 3) that no alias (incl. routing weights) or event source mapping uses; nothing is deleted until an \
admin presses *Delete*.
• `{NAME} archive [--region R]` — admins: commits the latest report as Markdown and JSON to the configured \
repository (`[remote.git]`) and answers with the commit id and branch."""

COMMAND = SlashCommand(
    name=NAME,
    summary="Lambda code storage per region: usage, top functions, forecast, and safe pruning",
    usage_hint=(
        "[--region R | --all-regions] [--top N] [--refresh] | prune [--keep K] [function] [--region R]"
        " | archive [--region R]"
    ),
    help=HELP,
    handle=lazy("commands.lambda_capacity.handler:handle"),
    buttons={
        ACTION_DELETE: lazy("commands.lambda_capacity.prune:press_delete"),
        ACTION_CANCEL: lazy("commands.lambda_capacity.prune:press_cancel"),
    },
    jobs=(JOB,),
    lambda_entries=(LAMBDA_ENTRY,),
    env_options=ENV_OPTIONS,
    home=lazy("commands.lambda_capacity.home:home_blocks"),
    verbs=(
        Verb("prune", first_word("prune"), destructive=True, buttons=(ACTION_DELETE, ACTION_CANCEL)),
        Verb("archive", first_word("archive")),
    ),
)
