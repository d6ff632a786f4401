"""The state store's interface: personal tokens, the audit log, key/value records and time series.

`Store` is what callers use; `open_store(OPSBOT_STATE)` picks the backend: a SQLite file path
(default $XDG_STATE_HOME/opsbot/opsbot.db, bot.state.sqlite) for a long-running bot, or `dynamodb://TABLE`
(bot.state.dynamodb) where local files do not last, as on AWS Lambda. Every backend honours the
limits written on the methods below, so a caller that works on one works on the other.
"""

from __future__ import annotations

import functools
import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.settings import SettingsError

if TYPE_CHECKING:
    from bot.aws import AwsClients


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, throttled past retries, over a limit)."""


@dataclass(frozen=True)
class AuditEntry:
    at: float
    user_id: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True)
class Stored:
    value: Any
    updated_at: float


class TokenExists(StoreError):
    """A token with this hash is already stored; tokens are never overwritten."""


def raising_store_errors(errors: tuple[type[BaseException], ...], describe: Callable[[Any, BaseException], str]) -> Any:
    """A class decorator: every `Store` method of the backend raises StoreError(describe(store, exc)) for
    the backend's own `errors`, so callers catch one error whatever the backend."""

    def decorate(cls: type[Store]) -> type[Store]:
        for name in Store.__abstractmethods__:
            method = getattr(cls, name)

            def guarded(self: Store, *args: Any, _method: Callable[..., Any] = method, **kwargs: Any) -> Any:
                try:
                    return _method(self, *args, **kwargs)
                except errors as exc:
                    raise StoreError(describe(self, exc)) from exc

            setattr(cls, name, functools.wraps(method)(guarded))
        return cls

    return decorate


def encode_value(value: Any) -> str:
    return json.dumps(value, default=str)


MAX_KEY_BYTES = 1024
INLINE_VALUE_BYTES = 32 * 1024  # larger values are measured (and kept, in DynamoDB) zlib-compressed
MAX_VALUE_BYTES = 390 * 1024  # compressed: what is left of DynamoDB's 400 KB item once keys are counted


def check_key(key: str) -> str:
    size = len(key.encode())
    if not 1 <= size <= MAX_KEY_BYTES:
        raise StoreError(f"state keys are 1 to {MAX_KEY_BYTES} bytes, not {size}")
    return key


def check_value(value: Any) -> str:
    """The value's JSON, refused when it is over what every backend can hold."""
    text = encode_value(value)
    if len(text) > INLINE_VALUE_BYTES:
        packed = len(zlib.compress(text.encode()))
        if packed > MAX_VALUE_BYTES:
            raise StoreError(f"a state value is at most {MAX_VALUE_BYTES // 1024} KB compressed, not {packed:,} bytes")
    return text


def as_stored(value: Any) -> Any:
    """The value as `get` would return it after a `put` (tuples become lists, dates strings)."""
    return json.loads(encode_value(value))


class Store(ABC):
    """What the bot keeps between requests. Callers hold a `Store` and never know the backend."""

    @staticmethod
    def open(url: str, aws: AwsClients | None = None) -> Store:
        """The store OPSBOT_STATE names; `aws` shares its clients with the rest of the bot."""
        if url.startswith("dynamodb://"):
            # Imported here: the backends build on this module.
            from bot.state.dynamodb import DynamoStore

            return DynamoStore.connect(url.removeprefix("dynamodb://"), aws)
        if "://" in url:
            raise SettingsError(f"OPSBOT_STATE: expected a SQLite file path or dynamodb://TABLE, got {url!r}")
        path = Path(url).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        from bot.state.sqlite import SqliteStore

        return SqliteStore(str(path))

    # -- personal tokens (only hashes are stored)
    @abstractmethod
    def add_token(self, token_hash: str, user_id: str) -> None:
        """Raises TokenExists if the hash is taken."""

    @abstractmethod
    def token_owner(self, token_hash: str) -> str | None:
        """The user of a token that is not revoked."""

    @abstractmethod
    def revoke_tokens(self, user_id: str) -> int:
        """How many live tokens were revoked."""

    # -- audit log
    @abstractmethod
    def audit(self, user_id: str, action: str, **detail: Any) -> None: ...

    @abstractmethod
    def audit_log(self, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        """Newest first; one action's entries, or all of them."""

    # -- key/value (caches, monitor state, prune plans, the outbox); values are JSON.
    # Limits every backend honours: keys are 1 to 1,024 bytes of UTF-8; a value's JSON is at most
    # 390 KB once zlib-compressed (what DynamoDB's 400 KB item leaves; `check_value`), so a few MB
    # of repetitive JSON fit; a record written with `expires_at` (epoch seconds) is gone for every
    # reader once that time has passed.
    @abstractmethod
    def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None: ...

    @abstractmethod
    def get(self, namespace: str, key: str) -> Stored | None: ...

    @abstractmethod
    def add(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> bool:
        """Write only if no live record has this key, atomically across threads and processes;
        True if this call wrote it (e.g. the first time a request signature is seen)."""

    @abstractmethod
    def delete(self, namespace: str, key: str) -> None:
        """Remove the record if there is one."""

    @abstractmethod
    def items(self, namespace: str, limit: int = 1000) -> list[tuple[str, Stored]]:
        """Up to `limit` live records of one namespace, in key order."""

    @abstractmethod
    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        """Replace the value with `new` only if it still equals `expected`, atomically across
        threads and processes; False (nothing written) if it differs or the key is missing."""

    def for_update(self, namespace: str, key: str, initial: Any) -> Any:
        """The record's value, to `claim` against once the caller has worked out what replaces it;
        `initial` is written first if there is no record, so a first write is a claim too. None if
        the record vanished in between (the caller skips this round)."""
        self.add(namespace, key, initial)
        stored = self.get(namespace, key)
        return None if stored is None else stored.value

    # -- time series (capacity history, scores)
    @abstractmethod
    def add_sample(self, series: str, at: float, value: float) -> None:
        """One value per (series, at); a second one at the same time replaces the first."""

    @abstractmethod
    def samples(self, series: str, since: float = 0.0) -> list[tuple[float, float]]:
        """(at, value) pairs with at >= since, oldest first."""
