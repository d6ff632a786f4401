"""/tail and the log forwarder: Lambda logs in Slack, grouped per invocation, none lost.

`/tail <function | log group> [--since 15m] [--filter P] [--follow 5m] [--limit N] [--region R]` reads
FilterLogEvents (`query`, on the paging core in `events`), groups per invocation
(`lambda_format`, `invocations`) and renders one block group per invocation (`render_text`,
`pack`, `render`). `--follow` (`follow`) then posts new invocations into the first reply's thread,
from Live Tail or polling (`sources`), holding unfinished ones briefly (`pending`), in a bounded
slot (`follows`, which `/tail stop` also uses). The forwarder (`forwarder`, Lambda entry `logs_handler`) and the poller
(`poller`, a job in `opsbot serve`) send the routes of `[commands.tail]` (`options`) to their
channels the same way; `subscribe` sets up the subscription filter for `opsbot logs`.
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.command import CommandContext, EnvOptions, Job, LambdaEntry, SlashCommand, Verb, first_word, lazy
from bot.reply import Reply

# Declared here, not in the modules that use them: a Lambda cold start imports this file alone.
NAME = "/tail"
ACTION_STOP_FOLLOW = "tail_stop_follow"
ENV_OPTIONS: EnvOptions = {
    "OPSBOT_TAIL_ROUTES": ("routes", str),
    "OPSBOT_TAIL_CHANNEL": ("channel", str),
    "OPSBOT_TAIL_MAX_FOLLOWS": ("max_follows", int),
}
JOB = Job("tail_poller", lazy("commands.tail.options:poller_interval"), lazy("commands.tail.poller:run_tick"))
LAMBDA_ENTRY = LambdaEntry("logs_handler", lazy("commands.tail.forwarder:handle_event"))


def handle(text: str, ctx: CommandContext) -> Reply:
    # Imported here, not at the top: a Lambda cold start acks before any of it runs.
    from commands.tail.follow import follow_reply, stop_reply
    from commands.tail.options import TailOptions
    from commands.tail.parse import StopFollows, parse
    from commands.tail.tail import show_tail

    options = TailOptions.from_settings(ctx.settings)  # a bad [commands.tail] is said here, not only in the log
    request = parse(text, ctx.settings.timezone, ctx.now())
    if isinstance(request, StopFollows):
        return stop_reply(ctx)
    shown = show_tail(request, ctx)
    if request.follow is None:
        return shown.reply
    return follow_reply(request, shown, ctx, options)


HELP = """\
Recent CloudWatch Logs output, one block per Lambda invocation: start time, duration, billed \
duration, memory, cold start, status (:large_green_circle: ok, :red_circle: error, timeout or out of memory), \
and its lines beneath.
• `/tail orders` — the function `orders` (its log group `/aws/lambda/orders`), the last 15 minutes.
• `/tail /ecs/web --since 2h` — any log group; `--since` takes 30s, 15m, 2h, 1d or an ISO time.
• `--filter ERROR` — a CloudWatch Logs filter pattern, up to the next flag (`--filter "Task timed out"`, \
`--filter { $.level = "ERROR" }`); `--limit N` — at most N events \
(default 2,000); `--region R`.
• `/tail orders --follow 5m` — then new invocations, for 10s to 30m, into the reply's thread \
(CloudWatch Logs Live Tail where the account allows it, else polling); `/tail stop` ends your follows.
What does not fit in one message comes as a text file."""


def _follows(text: str) -> bool:
    from commands.tail.parse import StopFollows, parse

    request = parse(text, UTC, datetime.now(UTC))  # the time zone and now only place --since
    return not isinstance(request, StopFollows) and request.follow is not None


COMMAND = SlashCommand(
    name=NAME,
    summary="Recent Lambda and CloudWatch Logs output, grouped per invocation",
    usage_hint="<function | log-group> [--since 15m] [--filter PATTERN] [--follow 5m] [--limit N] [--region R] | stop",
    help=HELP,
    handle=handle,
    jobs=(JOB,),
    lambda_entries=(LAMBDA_ENTRY,),
    env_options=ENV_OPTIONS,
    home=lazy("commands.tail.home:home_blocks"),
    buttons={ACTION_STOP_FOLLOW: lazy("commands.tail.home:press_stop")},
    # The App Home's Stop is `/tail stop` pressed: the policy checks it as that verb.
    verbs=(Verb("--follow", _follows), Verb("stop", first_word("stop"), buttons=(ACTION_STOP_FOLLOW,))),
)
