"""Getting replies into Slack within its rules: ~1 message per second per channel, retries on 429
and 5xx, files through files_upload_v2, progress as one message updated in place."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent import futures
from concurrent.futures import Future
from functools import partial
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.webhook import WebhookResponse

from bot.reply import Attachment, Reply
from bot.settings import Settings
from bot.slack.blocks import fit_blocks, fit_text

log = logging.getLogger(__name__)

RESPOND_ATTEMPTS = 4


def make_web_client(settings: Settings) -> WebClient:
    """slack-sdk reads no base-URL variable, so SLACK_API_URL is passed here."""
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=4),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class ChannelPacer:
    """Spaces messages to one channel at least `interval` seconds apart, across threads."""

    def __init__(self, interval: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, channel: str) -> float:
        """Book the next slot for `channel`; return how long to wait for it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
            return slot - now

    def try_reserve(self, channel: str) -> bool:
        """Book a slot only if one is free now."""
        with self._lock:
            now = self._clock()
            if self._next.get(channel, now) > now:
                return False
            self._next[channel] = now + self.interval
            return True

    def wait(self, channel: str) -> None:
        delay = self.reserve(channel)
        if delay > 0:
            time.sleep(delay)


def respond_reliably(respond: Callable[..., WebhookResponse], **message: Any) -> bool:
    """Bolt's respond() does not retry; a response_url answers 429/5xx under load, so we do."""
    for attempt in range(RESPOND_ATTEMPTS):
        try:
            result = respond(**message)
        except Exception as exc:  # the network: log, retry, never crash the worker
            log.warning("response_url post failed: %s", exc)
            result = None
        if result is not None and result.status_code < 300:
            return True
        if result is not None and result.status_code not in (429,) and result.status_code < 500:
            log.error("response_url refused the reply: %s %s", result.status_code, result.body)
            return False
        retry_after = (result.headers or {}).get("Retry-After") if result is not None else None
        time.sleep(_seconds(retry_after, default=0.5 * 2**attempt))
    log.error("response_url kept failing; reply dropped after %d attempts", RESPOND_ATTEMPTS)
    return False


def _seconds(value: Any, default: float) -> float:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return min(float(value), 30.0)
    except (TypeError, ValueError):
        return default


class ChannelOutbox:
    """Sends to each channel in order, one message per pacer slot, without blocking the caller.

    Worker threads hand their messages over and go back to work; one short-lived sender thread
    per busy channel waits for the slots. Sleeping on a worker instead would let one busy
    channel hold every worker and delay answers in all the others.
    """

    def __init__(self, pacer: ChannelPacer) -> None:
        self.pacer = pacer
        self._queues: dict[str, deque[tuple[Callable[[], object], Future[None]]]] = {}
        self._lock = threading.Lock()

    def submit(self, channel: str, send: Callable[[], object]) -> Future[None]:
        done: Future[None] = Future()
        with self._lock:
            queue = self._queues.get(channel)
            start = queue is None
            if queue is None:
                queue = self._queues[channel] = deque()
            queue.append((send, done))
        if start:
            threading.Thread(target=self._drain, args=(channel,), name=f"outbox-{channel}", daemon=True).start()
        return done

    def flush(self, timeout: float) -> None:
        with self._lock:
            pending = [done for queue in self._queues.values() for _, done in queue]
        futures.wait(pending, timeout=timeout)

    def _drain(self, channel: str) -> None:
        while True:
            with self._lock:
                queue = self._queues[channel]
                if not queue:
                    del self._queues[channel]
                    return
                send, done = queue.popleft()
            self.pacer.wait(channel)
            try:
                send()
                done.set_result(None)
            except Exception as exc:  # a sender must survive any one message
                log.exception("delivery to %s failed", channel)
                done.set_exception(exc)


class SlackDelivery:
    def __init__(self, client: WebClient, pacer: ChannelPacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or ChannelPacer()
        self.outbox = ChannelOutbox(self.pacer)

    def send(self, reply: Reply, respond: Callable[..., WebhookResponse], channel_id: str) -> Future[None]:
        """Deliver a reply; the future completes once Slack has it (Lambda must wait for that).

        Ephemeral replies are seen only by their caller and go at once; messages that land in
        the channel, and files, queue for the channel's next slot, in order.
        """
        message: dict[str, Any] = {
            "text": fit_text(reply.text),
            "response_type": "in_channel" if reply.public else "ephemeral",
        }
        if reply.blocks:
            message["blocks"] = fit_blocks(reply.blocks)
        if reply.replace_original:
            message["replace_original"] = True
        if not reply.public and not reply.files:
            done: Future[None] = Future()
            respond_reliably(respond, **message)
            done.set_result(None)
            return done
        last = self.outbox.submit(channel_id, partial(respond_reliably, respond, **message))
        for attachment in reply.files:
            last = self.outbox.submit(channel_id, partial(self._upload, attachment, respond, channel_id))
        return last

    def post(self, channel_id: str, reply: Reply) -> Future[None]:
        """A message the bot posts to a channel on its own (an alert, a job's report): paced, in order."""
        message: dict[str, Any] = {"channel": channel_id, "text": fit_text(reply.text)}
        if reply.blocks:
            message["blocks"] = fit_blocks(reply.blocks)
        return self.outbox.submit(channel_id, partial(self.client.chat_postMessage, **message))

    def flush(self, timeout: float) -> None:
        """Wait until everything handed over so far has been sent (on Lambda, before returning)."""
        self.outbox.flush(timeout)

    def _upload(self, attachment: Attachment, respond: Callable[..., WebhookResponse], channel_id: str) -> None:
        try:
            self.client.files_upload_v2(
                channel=channel_id,
                content=attachment.content,
                filename=attachment.filename,
                title=attachment.title or attachment.filename,
            )
        except SlackApiError as exc:
            log.error("could not upload %s: %s", attachment.filename, exc.response.get("error"))
            respond_reliably(
                respond,
                text=f"(Could not upload {attachment.filename}: {exc.response.get('error')}.)",
                response_type="ephemeral",
            )


class SlackProgress:
    """A progress line kept in one channel message, updated at most once per `interval`."""

    def __init__(self, delivery: SlackDelivery, channel_id: str, interval: float = 2.0) -> None:
        self.delivery = delivery
        self.channel_id = channel_id
        self.interval = interval
        self.ts: str | None = None
        self._last = 0.0
        self._broken = False

    def __call__(self, text: str) -> None:
        now = time.monotonic()
        if self._broken or (self.ts and now - self._last < self.interval):
            return
        self._last = now
        client = self.delivery.client
        try:
            if self.ts is None:
                # A new message takes a channel slot; without a free one, skip this update.
                if not self.delivery.pacer.try_reserve(self.channel_id):
                    return
                resp = client.chat_postMessage(channel=self.channel_id, text=text)
                self.ts = resp["ts"]
            else:
                client.chat_update(channel=self.channel_id, ts=self.ts, text=text)
        except SlackApiError as exc:
            # e.g. not_in_channel: progress is a courtesy, the answer still comes via respond().
            log.info("progress updates off in %s: %s", self.channel_id, exc.response.get("error"))
            self._broken = True
