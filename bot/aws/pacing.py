"""Client-side pacing for AWS control planes whose request quota is shared by the whole account.

Lambda allows about 15 control-plane requests per second per region across every tool in the
account; a scan that exceeds it gets TooManyRequestsException, and retries alone only slow the
others down. A token bucket per region keeps our own share below a configured rate.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Collection
from typing import Any


class TokenBucket:
    """At most `rate` acquisitions per second on average, at most `burst` back to back.

    Thread-safe: a caller reserves its slot under the lock and sleeps outside it, so waiting
    threads are served in arrival order and never hold each other up beyond their own slot.
    """

    def __init__(
        self,
        rate: float,
        burst: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._rate = float(rate)
        self._burst = max(1.0, float(burst))
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._burst
        self._last = clock()
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    def set_rate(self, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        with self._lock:
            self._refill()
            self._rate = float(rate)

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._burst, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def reserve(self) -> float:
        """Take one token (possibly borrowed from the future); return how long to wait for it."""
        with self._lock:
            self._refill()
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    def acquire(self) -> float:
        delay = self.reserve()
        if delay > 0:
            self._sleep(delay)
        return delay


_buckets: dict[str, TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(key: str, rate: float) -> TokenBucket:
    """The process-wide bucket for `key` (e.g. "lambda:eu-west-1"), adjusted to `rate`."""
    with _buckets_lock:
        bucket = _buckets.get(key)
        if bucket is None:
            bucket = _buckets[key] = TokenBucket(rate)
        elif bucket.rate != rate:
            bucket.set_rate(rate)
        return bucket


# Clients already paced: registering twice would make every request wait twice.
_paced: weakref.WeakKeyDictionary[Any, TokenBucket] = weakref.WeakKeyDictionary()
_paced_lock = threading.Lock()


def pace_client(client: Any, bucket: TokenBucket, exempt: Collection[str] = ()) -> None:
    """Make every HTTP attempt `client` sends wait for `bucket`, once per client.

    `before-send` fires per attempt, retries included, so the rate on the wire stays bounded
    even while botocore retries a throttled call; it also covers paginators and every other
    caller that shares the cached client. Operations in `exempt` (e.g. Invoke, which has its
    own quota) pass through.
    """
    with _paced_lock:
        if client in _paced:
            _paced[client] = bucket  # same hook, new bucket (the rate setting may have changed)
            return
        _paced[client] = bucket
    service = client.meta.service_model.service_id.hyphenize()

    def wait_for_slot(event_name: str = "", **_kwargs: Any) -> None:
        if event_name.rsplit(".", 1)[-1] in exempt:
            return
        current = _paced.get(client)
        if current is not None:
            current.acquire()

    client.meta.events.register(f"before-send.{service}", wait_for_slot, unique_id=f"opsbot-pace-{id(client)}")
