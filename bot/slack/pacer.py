"""The one pacer in front of Slack: per channel, and for the whole workspace."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from bot.slack.outbox import DeliveryPolicy

# files.getUploadURLExternal and files.completeUploadExternal are Tier 4 ("100+ per minute",
# per workspace, bursts welcome): a file is not a chat.postMessage and takes no channel slot.
UPLOADS_PER_MINUTE = 100
UPLOADS_BURST = 10


class ChannelPacer:
    """Spaces messages to one channel `interval` seconds apart, across threads, letting `burst` of
    them go at once after a quiet spell; with `workspace_per_minute`, also at most that many a
    minute across all channels (bursts of `workspace_burst`): Slack's workspace-wide limit.
    File uploads have a limit of their own (`wait_upload`), Slack's Tier 4.

    Each limit is a cell-rate rule (GCRA): a channel's next theoretical slot moves `interval` on
    per message, and a message may go up to `burst - 1` intervals ahead of it.
    """

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        burst: int = 1,
        workspace_per_minute: float | None = None,
        workspace_burst: int = 20,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._limits = {"channel": (interval, max(1, burst)), "uploads": (60.0 / UPLOADS_PER_MINUTE, UPLOADS_BURST)}
        if workspace_per_minute:
            self._limits["workspace"] = (60.0 / workspace_per_minute, max(1, workspace_burst))
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_policy(cls, policy: DeliveryPolicy) -> ChannelPacer:
        return cls(
            burst=int(policy.channel_burst),
            workspace_per_minute=policy.workspace_per_minute,
            workspace_burst=int(policy.workspace_burst),
        )

    def _slot(self, channel: str | None, now: float) -> tuple[float, list[tuple[str, float]]]:
        if channel is None:
            keys = [("uploads", *self._limits["uploads"])]
        else:
            keys = [(f"channel {channel}", *self._limits["channel"])]
        if "workspace" in self._limits and channel is not None:
            keys.append(("workspace", *self._limits["workspace"]))
        slot = now
        for key, interval, burst in keys:
            slot = max(slot, self._next.get(key, now) - (burst - 1) * interval)
        return slot, [(key, interval) for key, interval, _ in keys]

    def _book(self, slot: float, keys: list[tuple[str, float]]) -> None:
        for key, interval in keys:
            self._next[key] = max(self._next.get(key, slot), slot) + interval

    def reserve(self, channel: str | None) -> float:
        """Book the next slot for `channel`; return how long to wait for it."""
        with self._lock:
            now = self._clock()
            slot, keys = self._slot(channel, now)
            self._book(slot, keys)
            return slot - now

    def try_reserve(self, channel: str) -> bool:
        """Book a slot only if one is free now."""
        with self._lock:
            now = self._clock()
            slot, keys = self._slot(channel, now)
            if slot > now:
                return False
            self._book(slot, keys)
            return True

    def wait(self, channel: str) -> None:
        delay = self.reserve(channel)
        if delay > 0:
            time.sleep(delay)

    def wait_upload(self) -> None:
        delay = self.reserve(None)
        if delay > 0:
            time.sleep(delay)

    def answered(self, channel: str) -> None:
        """Slack has answered a message to the channel: its next may go `interval` after this, not
        after the request began, so a slow answer cannot bring two arrivals closer than that."""
        with self._lock:
            key = f"channel {channel}"
            self._next[key] = max(self._next.get(key, 0.0), self._clock() + self.interval)

    def free_in(self, channels: Iterable[str]) -> float:
        """Seconds until each of the channels may take a message again with no burst left: a
        sender that hands a channel on to another process (which knows nothing of this pacer)
        waits this long first."""
        with self._lock:
            now = self._clock()
            return max((self._next.get(f"channel {c}", now) - now for c in channels), default=0.0)
