"""The one way out to Slack: command replies (response_url), posts, files (files_upload_v2).

Everything is queued in the state store (bot.slack.outbox) before the first attempt and sent by
one thread per busy lane: a channel's lane is paced at ~1 message per second and keeps its order;
an ephemeral reply has a lane of its own, so it goes at once. One retry policy for every way out:
network errors, 429 (after its Retry-After) and 5xx are retried until the record's deadline; any
other refusal is final. Progress lines, a courtesy, go straight to chat.update (SlackProgress).
"""

from __future__ import annotations

import base64
import logging
import math
import threading
import time
from concurrent.futures import Future
from dataclasses import replace
from typing import Any

from slack_bolt import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.aws import AWS_ERRORS
from bot.reply import Attachment, Reply
from bot.settings import Settings
from bot.slack.blocks import fit_text
from bot.slack.outbox import DeliveryPolicy, Outbox, Record, late_note
from bot.slack.outcome import SENT, Outcome, fitted, outcome_of, outcome_of_error
from bot.slack.pacer import ChannelPacer
from bot.slack.queue import DeliveryQueue
from bot.state import Store, StoreError
from bot.text import Mrkdwn

log = logging.getLogger(__name__)

# chat.update's answers for a message that cannot be edited any more: someone deleted it, or it is too old.
GONE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def make_web_client(settings: Settings) -> WebClient:
    """slack-sdk reads no base-URL variable, so SLACK_API_URL is passed here. It keeps only its
    default retry of a dropped connection: 429 and 5xx are retried by the outbox, not twice."""
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)


class SlackDelivery:
    """In a server (`background=True`) lanes send as soon as something is queued; on Lambda
    nothing runs after the handler returns, so records go out only inside `flush()`."""

    def __init__(
        self,
        client: WebClient,
        store: Store,
        policy: DeliveryPolicy | None = None,
        pacer: ChannelPacer | None = None,
        background: bool = True,
        queue: DeliveryQueue | None = None,
    ) -> None:
        self.client = client
        self.queue = queue  # on Lambda: records go to SQS, and bot.slack.sender sends them
        self.policy = policy or DeliveryPolicy()
        self.pacer = pacer or ChannelPacer.for_policy(self.policy)
        self.outbox = Outbox(store, self.policy)
        self._background = background
        self._lanes: dict[str, threading.Thread] = {}
        self._again: set[str] = set()  # lanes that got a record while their thread was finishing
        self._waiting: dict[str, Future[bool]] = {}
        self._failed_at: dict[str, float] = {}  # lane -> when Slack last failed a record of it
        self._lock = threading.Lock()
        self._stop = threading.Event()

    @classmethod
    def configured(cls, settings: Settings, store: Store, *, background: bool = True) -> SlackDelivery:
        """The delivery a running bot uses: its WebClient, its store, the OPSBOT_DELIVERY_* policy."""
        return cls(make_web_client(settings), store, DeliveryPolicy.from_env(), background=background)

    def send(self, reply: Reply, respond: Respond, channel_id: str) -> Future[bool]:
        """Queue a reply; the future completes once this process has delivered it (True) or dropped it.

        Ephemeral replies are seen only by their caller and go at once; messages that land in
        the channel, and files, queue for the channel's next slot, in order.
        """
        url = respond.response_url or ""
        message: dict[str, Any] = {
            "text": fit_text(reply.text),
            "response_type": "in_channel" if reply.public else "ephemeral",
        }
        if reply.blocks:
            message["blocks"] = reply.blocks
        if reply.fallback_blocks:
            message["fallback_blocks"] = reply.fallback_blocks
        if reply.attachments:
            message["attachments"] = reply.attachments
        if reply.replace_original:
            message["replace_original"] = True
        if reply.replace_key:
            # A reply others thread under (a follow's first message) is posted, so its ts is known;
            # the url stays on the record to tell the caller if the channel refuses it.
            return self._post(channel_id, reply, url)
        paced = reply.public or bool(reply.files)
        lane = channel_id if paced else f"{channel_id} {url}"
        last = self._enqueue(lane, channel_id, "respond", message, paced=paced, url=url)
        for attachment in reply.files:
            last = self._enqueue(channel_id, channel_id, "upload", _upload_body(attachment), paced=True, url=url)
        return last

    def post(self, channel_id: str, reply: Reply) -> Future[bool]:
        """A message the bot posts to a channel on its own (an alert, a job's report), then its files:
        paced, in order. With `reply.replace_key` the message edits the one posted under that key;
        with `reply.thread_key` it (and its files) go into the thread of the one posted under that key."""
        return self._post(channel_id, reply)

    def in_thread(self, channel_id: str, thread_ts: str, reply: Reply) -> Future[bool]:
        """A post in the thread of a message someone else wrote (an @mention), paced like any post."""
        key = f"thread-of-{thread_ts}"
        self.outbox.keep_posted_ts(channel_id, key, thread_ts)
        return self._post(channel_id, replace(reply, thread_key=key, replace_key=""))

    def publish_home(self, user_id: str, view: dict[str, Any]) -> bool:
        """The user's App Home tab, at once: it is one view per user, not a channel's message, so no lane."""
        try:
            self.client.views_publish(user_id=user_id, view=view)
            return True
        except Exception as exc:  # the Home stays as it was; the next opening tries again
            log.warning("could not publish the App Home of %s: %s", user_id, exc)
            return False

    def _post(self, channel_id: str, reply: Reply, url: str = "") -> Future[bool]:
        body: dict[str, Any] = {"channel": channel_id, "text": fit_text(reply.text)}
        if reply.blocks:
            body["blocks"] = reply.blocks
        if reply.fallback_blocks:
            body["fallback_blocks"] = reply.fallback_blocks
        if reply.attachments:
            body["attachments"] = reply.attachments
        kind = "post"
        if reply.replace_key:
            kind, body["replace_key"] = "update", reply.replace_key
        elif reply.thread_key:
            body["thread_key"] = reply.thread_key
        merging = reply.log is not None and kind == "post"
        if merging and reply.log is not None:
            body["merge"] = {"title": reply.log.title, "text": reply.log.text, "filename": reply.log.filename}
        last = self._enqueue(channel_id, channel_id, kind, body, paced=True, url=url)
        for attachment in reply.files:
            upload = {**_upload_body(attachment), "thread_key": reply.thread_key}
            if merging:
                upload["merge_part"] = True
            last = self._enqueue(channel_id, channel_id, "upload", upload, paced=True, url=url)
        return last

    def start(self) -> None:
        """For a long-running server: send what earlier runs left, and keep looking for records
        no lane is sending (another process's, once its lease has expired)."""
        self._start_lanes(math.inf)

        def sweep() -> None:
            while not self._stop.wait(self.policy.sweep_every):
                self._start_lanes(math.inf)

        threading.Thread(target=sweep, name="outbox-sweep", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()

    def flush(self, timeout: float) -> None:
        """Deliver what is queued (by this process or an earlier one) for up to `timeout` seconds."""
        if self.queue is not None:
            return  # the queue's sender delivers
        until = time.time() + timeout
        self._start_lanes(math.inf if self._background else until)
        with self._lock:
            threads = list(self._lanes.values())
        for thread in threads:
            thread.join(max(0.0, until - time.time()))
        if not self._background:
            # The function is frozen once it returns: what it still holds goes back now, not when
            # its lease runs out, so the next invocation can send it.
            self.outbox.release_mine()

    def _enqueue(
        self, lane: str, channel: str, kind: str, body: dict[str, Any], paced: bool, url: str = ""
    ) -> Future[bool]:
        done: Future[bool] = Future()
        record = self.outbox.new_record(lane, channel, kind, body, paced=paced, url=url)
        try:
            if self.queue is not None:
                self.queue.enqueue(record)
                done.set_result(True)  # SQS has it: from here the sender delivers it or dead-letters it
                return done
            key = self.outbox.enqueue(record)
        except (StoreError, *AWS_ERRORS) as exc:
            # Better once without a net than never: the store or the queue refused (too big, unreachable).
            log.warning("could not queue a %s to %s (%s); sending it once, unqueued", kind, channel, exc)
            outcome = self.attempt(record)
            if not outcome.sent:
                log.error("a %s to %s failed and is lost: %s", kind, channel, outcome.reason)
            done.set_result(outcome.sent)
            return done
        with self._lock:
            self._waiting[key] = done
        if self._background:
            self._ensure_lane(lane, math.inf)
        return done

    def _start_lanes(self, until: float) -> None:
        try:
            lanes = {record["lane"] for _, record in self.outbox.records()}
        except Exception as exc:  # the SQLite store lets sqlite3's own errors (a locked file) through
            log.warning("could not read the outbox: %s", exc)
            return
        for lane in sorted(lanes):
            self._ensure_lane(lane, until)

    def _ensure_lane(self, lane: str, until: float) -> None:
        with self._lock:
            if lane in self._lanes:
                self._again.add(lane)
                return
            thread = threading.Thread(target=self._run_lane, args=(lane, until), name=f"outbox {lane}", daemon=True)
            self._lanes[lane] = thread
        thread.start()

    def _run_lane(self, lane: str, until: float) -> None:
        try:
            while time.time() < until and not self._stop.is_set():
                try:
                    idle = self._step(lane, until)
                except Exception:  # the store, or a bug: this lane must outlive any one record
                    log.exception("delivery in %s failed; trying again", lane)
                    self._pause(time.time() + self.policy.first_retry, until)
                    continue
                if idle and self._finished(lane):
                    return
        finally:
            with self._lock:
                if self._lanes.get(lane) is threading.current_thread():
                    del self._lanes[lane]
                    self._again.discard(lane)

    def _finished(self, lane: str) -> bool:
        with self._lock:
            if lane in self._again:
                self._again.discard(lane)
                return False
            del self._lanes[lane]
            return True

    def _step(self, lane: str, until: float) -> bool:
        """Move the lane's oldest record one step on; True if there is nothing to do for now."""
        head = self.outbox.head(lane)
        if head is None:
            return True
        key, record = head
        if self.outbox.held_by_other(record):
            # Its holder, alive, sends this lane (and hands back what it cannot before it returns);
            # waiting here would only bill a Lambda invocation. The sweep, or the next invocation,
            # looks again once a dead holder's lease is out.
            return True
        mine = self.outbox.take(key, record)
        if mine is None:
            return False  # it changed under us: look again
        now = time.time()
        if mine["deadline"] <= now:
            log.error(
                "gave up on a %s to %s after %d attempts: past its deadline", mine["kind"], lane, mine["attempts"]
            )
            self._done(key, sent=False)
            return False
        if mine["next_at"] > now:
            if not self._pause(mine["next_at"], until):
                self.outbox.release(key, mine)
            return False
        if mine["kind"] == "update" and self.outbox.superseded(key, mine):
            self._done(key, sent=True)  # a newer edit of the same message is queued behind it: only that one goes
            return False
        mine = self.outbox.drop_replaced(key, mine) if "replaces" in mine else self.outbox.merge_run(key, mine)
        self.pace(mine)
        outcome = self.attempt(mine)
        if outcome.sent:
            self._done(key, sent=True)
        elif not outcome.retry:
            log.error("Slack refused a %s to %s, dropped: %s", mine["kind"], lane, outcome.reason)
            self.refused(mine, outcome)
            self._done(key, sent=False)
        else:
            log.warning("a %s to %s failed (%s); it stays queued", mine["kind"], lane, outcome.reason)
            self._failed_at[lane] = time.time()
            self.outbox.retry_later(key, mine, outcome.retry_after)
        return False

    def pace(self, record: Record) -> None:
        if record["kind"] == "upload":
            self.pacer.wait_upload()
        elif record["paced"]:
            self.pacer.wait(record["channel"])

    def _pause(self, until_time: float, until: float) -> bool:
        """Sleep until `until_time`; False if the lane's own end (`until`) comes first."""
        self._stop.wait(max(0.0, min(until_time, until) - time.time()))
        return until_time <= until

    def _done(self, key: str, sent: bool) -> None:
        self.outbox.remove(key)
        with self._lock:
            done = self._waiting.pop(key, None)
        if done is not None:
            done.set_result(sent)

    def attempt(self, record: Record) -> Outcome:
        """One try at Slack (the lanes', and the queue sender's). When Slack refuses the blocks as
        invalid_blocks and the record has fallback blocks (data_table, data_visualization in a workspace
        without them), those go at once instead."""
        fallback = record["body"].pop("fallback_blocks", None)
        outcome = self._attempt_once(record)
        if fallback and not outcome.sent and "invalid_blocks" in outcome.reason:
            log.info(
                "Slack refused the blocks of a %s to %s (%s): sending the fallback",
                record["kind"],
                record["channel"],
                outcome.reason,
            )
            record["body"]["blocks"] = fallback
            outcome = self._attempt_once(record)
        elif fallback:
            record["body"]["fallback_blocks"] = fallback  # kept for a retry of this record
        return outcome

    def _attempt_once(self, record: Record) -> Outcome:
        late = time.time() - record["queued_at"]
        # Late because Slack failed it or what was ahead of it, or only because of the pace?
        failed = record.get("attempts", 0) > 0 or self._failed_at.get(record.get("lane", ""), 0) >= record["queued_at"]
        note = late_note(late, failed) if late > self.policy.late_after else ""
        body = record["body"]
        try:
            if record["kind"] == "respond":
                # Bolt's Respond, rebuilt from the stored response_url: the same request as the listener's.
                result = Respond(response_url=record["url"])(**fitted(body, note))
                return outcome_of(result.status_code, result.headers, f"{result.status_code} {result.body}")
            if record["kind"] == "post":
                self.client.chat_postMessage(**fitted(body, note), thread_ts=self._thread_of(record))
                return SENT
            if record["kind"] == "update":
                self._post_or_update(body["replace_key"], fitted(body, note))
                return SENT
            self.client.files_upload_v2(
                channel=record["channel"],
                content=base64.b64decode(body["content"]),
                filename=body["filename"],
                title=body["title"] or Mrkdwn.escape(body["filename"]),  # a log group's name may be in it
                thread_ts=self._thread_of(record),
            )
            return SENT
        except Exception as exc:  # whatever Slack or the network did, the record decides what is next
            return outcome_of_error(exc)

    def _post_or_update(self, replace_key: str, message: dict[str, Any]) -> None:
        """Edit the message last posted under the key; post one (and keep its ts) if there is none."""
        channel = message["channel"]
        ts = self.outbox.posted_ts(channel, replace_key)
        if ts:
            try:
                self.client.chat_update(ts=ts, **message)
                return
            except SlackApiError as exc:
                if exc.response.get("error") not in GONE:
                    raise
                log.info("the message %s in %s is gone (%s); posting a new one", replace_key, channel, exc)
        posted = self.client.chat_postMessage(**message)
        self.outbox.keep_posted_ts(channel, replace_key, str(posted["ts"]))

    def _thread_of(self, record: Record) -> str | None:
        """The ts of the message the record threads under; None (the channel itself) if that
        message was never posted: a line in the channel beats a line lost."""
        thread_key = record["body"].get("thread_key")
        return self.outbox.posted_ts(record["channel"], thread_key) or None if thread_key else None

    def refused(self, record: Record, outcome: Outcome) -> None:
        """Tell the caller, while their response_url lasts, what Slack would not take."""
        if not record["url"] or record["kind"] == "respond":
            return
        if record["kind"] == "upload":
            text = Mrkdwn("(Could not upload {}: Slack answered {}.)").format(
                record["body"]["filename"], outcome.reason
            )
        else:
            text = Mrkdwn("Could not post in this channel: Slack answered {}. Is opsbot a member? (/invite it)").format(
                outcome.reason
            )
        lane = f"{record['channel']} {record['url']}"
        body = {"text": text, "response_type": "ephemeral"}
        self._enqueue(lane, record["channel"], "respond", body, paced=False, url=record["url"])


def _upload_body(attachment: Attachment) -> dict[str, Any]:
    content = base64.b64encode(attachment.content).decode()
    return {"filename": attachment.filename, "title": attachment.title, "content": content}


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
        text = Mrkdwn.escape(text)  # a command's progress line may quote what it read
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
        except (SlackApiError, OSError) as exc:
            # e.g. not_in_channel: progress is a courtesy, the answer still comes via respond().
            reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
            log.info("progress updates off in %s: %s", self.channel_id, reason)
            self._broken = True
