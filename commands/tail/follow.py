"""`/tail … --follow 5m`: new invocations go into the thread of the first reply, until the time is
up, `/tail stop`, or (on Lambda) the invocation's timeout comes near; then the thread says why.

The first reply is posted under a `replace_key`, so its ts is known, and each later post carries
that key as its `thread_key`; both wait in the channel's lane of the one delivery, so a thread
post never overtakes its parent. The follow itself is the reply's `afterwards`: it runs on the
worker that answered the command, after the reply is out, inside a slot of `follows`.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial

from bot.aws import AWS_ERRORS, describe_aws_error, is_aws_error
from bot.command import SHUTDOWN, CommandContext, CommandError
from bot.reply import Reply
from bot.slack.blocks import context
from bot.text import Mrkdwn, plural
from commands.tail.events import DEFAULT_OVERLAP_MS, LogEvent
from commands.tail.follows import RunningFollow, ask_to_stop, release, stop_asked, take_slot
from commands.tail.invocations import group_invocations
from commands.tail.options import TailOptions
from commands.tail.parse import TailRequest
from commands.tail.pending import DEFAULT_HOLD_MS, PendingEvents
from commands.tail.render import log_reply
from commands.tail.sources import Delivered, LiveTail, Polling
from commands.tail.tail import Shown

log = logging.getLogger(__name__)

MIN_FOLLOW_SECONDS = 10.0
_POST_EVERY = 2.0  # lines closer together than this share one message
_STOP_CHECK_EVERY = 2.0
_MAX_FAILURES = 5  # reads in a row CloudWatch refused before the follow gives up


@dataclass(frozen=True)
class FollowPlan:
    request: TailRequest
    shown: Shown
    running: RunningFollow
    thread_key: str
    cut_by_deadline: bool  # ends at the Lambda invocation's limit, not at the asked time
    poll_seconds: float


def follow_reply(request: TailRequest, shown: Shown, ctx: CommandContext, options: TailOptions) -> Reply:
    """The first reply of a follow: `shown`, posted so it can be threaded under, with the follow after it."""
    assert request.follow is not None
    if ctx.post is None:
        raise CommandError("`--follow` needs the bot's Slack token to post into the thread.")
    now = ctx.now().timestamp()  # the bot's clock, as every time it shows (the demo's runs ahead of the wall's)
    until = now + request.follow.total_seconds()
    cut = ctx.deadline is not None and ctx.deadline < until
    if cut:
        assert ctx.deadline is not None
        until = ctx.deadline
        if until - now < MIN_FOLLOW_SECONDS:
            raise CommandError("This invocation of the bot is too close to its timeout to follow; try again.")
    follow_id = uuid.uuid4().hex[:12]
    follow = RunningFollow(follow_id, ctx.user_id, ctx.channel_id, request.log_group, until)
    running = take_slot(ctx.store, options.max_follows, follow)
    ends = datetime.fromtimestamp(until, ctx.settings.timezone)
    note = Mrkdwn(
        "Following until {:%H:%M:%S %Z}: new invocations go into this message's thread; `/tail stop` ends it."
    )
    note = note.format(ends)
    if cut:
        note += Mrkdwn(" (The bot's Lambda function may not run longer.)")
    plan = FollowPlan(request, shown, running, f"tail-follow-{follow_id}", cut, options.follow_poll_seconds)
    blocks = [*shown.reply.blocks, context(Mrkdwn("_{}_").format(note))]
    return replace(shown.reply, blocks=blocks, replace_key=plan.thread_key, afterwards=partial(run_follow, plan))


def stop_reply(ctx: CommandContext) -> Reply:
    stopping = ask_to_stop(ctx.store, ctx.user_id)
    if not stopping:
        return Reply.private(Mrkdwn("You have no follows running."))
    groups = Mrkdwn(", ").join(Mrkdwn("`{}`").format(f.log_group) for f in stopping)
    return Reply.private(
        Mrkdwn("Stopping {} ({}); each says so in its thread.").format(plural(len(stopping), "follow"), groups)
    )


def run_follow(plan: FollowPlan, ctx: CommandContext, reply_delivered: bool) -> None:
    try:
        if not reply_delivered:
            log.info("follow of %s not started: its first message was refused", plan.request.log_group)
            return
        _Follower(plan, ctx).run()
    finally:
        release(ctx.store, plan.running)


class _Follower:
    def __init__(self, plan: FollowPlan, ctx: CommandContext) -> None:
        self.plan, self.ctx = plan, ctx
        self.logs = ctx.aws.client("logs", plan.request.region)
        self.delivered = Delivered()
        for event in plan.shown.events:
            self.delivered.fresh_polled(event)
        # A filtered read has no REPORT to wait for.
        self.pending = PendingEvents(hold_ms=0 if plan.request.filter_pattern else DEFAULT_HOLD_MS)
        self.invocations = 0
        self.lines = 0
        self.said_sampled = False

    def run(self) -> None:
        source: LiveTail | Polling | None = None
        reason = "it failed (the error is in the bot's log)"
        try:
            source = self._open()
            reason = self._loop(source)
        except KeyboardInterrupt:  # Ctrl-C in the terminal
            reason = "interrupted"
        except AWS_ERRORS as exc:
            log.warning("follow of %s ended: %s", self.plan.request.log_group, exc)
            reason = f"CloudWatch Logs refused: {describe_aws_error(exc)}"
        finally:
            if source is not None:
                source.close()
            self._post(self.pending.take(self._now_ms(), final=True))
            self._say(f"Stopped following: {reason}. {self._counts()}")

    def _open(self) -> LiveTail | Polling:
        request, group = self.plan.request, self.plan.shown.group
        try:
            live = LiveTail(self.logs, group.arn, request.filter_pattern, self.delivered)
        except AWS_ERRORS as exc:
            self._say(
                f"Polling every {self.plan.poll_seconds:g} s: Live Tail is not available ({describe_aws_error(exc)})"
            )
            return self._polling()
        self._say("Following with CloudWatch Logs Live Tail.")
        # What arrived between the first reply's read and the session's start would be in neither.
        self.pending.add(self._polling().take(0.0))
        return live

    def _polling(self) -> Polling:
        request = self.plan.request
        start = self.plan.shown.end_ms - DEFAULT_OVERLAP_MS
        return Polling(
            self.logs, request.log_group, request.filter_pattern, start, self.plan.poll_seconds, self.delivered
        )

    def _loop(self, source: LiveTail | Polling) -> str:
        running = self.plan.running
        last_post = last_check = 0.0
        failures = 0
        while True:
            now = self._now()
            if now >= running.until:
                if self.plan.cut_by_deadline:
                    return "the bot's Lambda function is near its timeout; run the command again to go on"
                return f"time is up ({_span(self.plan)})"
            if SHUTDOWN.is_set():
                return "the bot is shutting down; run the command again once it is back"
            if now - last_check >= _STOP_CHECK_EVERY:
                last_check = now
                if stop_asked(self.ctx.store, running):
                    return "stopped with `/tail stop`"
            try:
                self.pending.add(source.take(min(1.0, running.until - now)))
                failures = 0
            except AWS_ERRORS as exc:
                failures += 1
                log.warning("follow of %s: read failed (%d in a row): %s", running.log_group, failures, exc)
                if failures >= _MAX_FAILURES:
                    return f"CloudWatch Logs kept refusing: {describe_aws_error(exc)}"
                time.sleep(min(self.plan.poll_seconds, max(0.0, running.until - self._now())))
            if isinstance(source, LiveTail):
                if source.sampled and not self.said_sampled:
                    self.said_sampled = True
                    self._say("Live Tail is sampling (over 500 events a second): some lines are not shown here.")
                if source.finished:
                    why = f" ({_describe(source.error)})" if source.error is not None else ""
                    self._say(f"Live Tail ended early{why}; polling every {self.plan.poll_seconds:g} s for the rest.")
                    source = self._polling()
            if self._now() - last_post >= _POST_EVERY and len(self.pending):
                ready = self.pending.take(self._now_ms())
                if ready:
                    self._post(ready)
                    last_post = self._now()

    def _now(self) -> float:
        """The bot's clock (ctx.now), the one the follow's end and every shown time are on."""
        return self.ctx.now().timestamp()

    def _now_ms(self) -> int:
        return int(self._now() * 1000)

    def _post(self, events: list[LogEvent]) -> None:
        if not events:
            return
        grouped = group_invocations(events, filtered=bool(self.plan.request.filter_pattern))
        self.invocations += len(grouped.invocations)
        self.lines += len(events)
        name = self.plan.request.function or self.plan.request.log_group
        reply = log_reply(name, grouped, self.ctx.settings.timezone, filename=f"tail-{_slug(name)}.txt")
        self._send(replace(reply, thread_key=self.plan.thread_key))

    def _say(self, text: str) -> None:
        said = Mrkdwn.escape(text)
        self._send(Reply(text=said, blocks=[context(Mrkdwn("_{}_").format(said))], thread_key=self.plan.thread_key))

    def _send(self, reply: Reply) -> None:
        assert self.ctx.post is not None
        self.ctx.post(self.plan.running.channel, reply)

    def _counts(self) -> str:
        return (
            f"{plural(self.invocations, 'invocation')} and {plural(self.lines, 'log event')} since the first message."
        )


def _describe(exc: BaseException) -> str:
    return describe_aws_error(exc) if is_aws_error(exc) else f"{type(exc).__name__}: {exc}"


def _span(plan: FollowPlan) -> str:
    assert plan.request.follow is not None
    seconds = int(plan.request.follow.total_seconds())
    return plural(seconds // 60, "minute") if seconds % 60 == 0 else plural(seconds, "second")


def _slug(name: str) -> str:
    return name.strip("/").replace("/", "-") or "log-group"
