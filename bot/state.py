"""The state store: personal tokens, the audit log, caches and time series.

`Store` is what callers use; `Store.open(OPSBOT_STATE)` picks the backend: a SQLite file path
(default ./opsbot.db) for a long-running bot, or `dynamodb://TABLE` (bot.state_dynamodb) where
local files do not last, as on AWS Lambda. The SQLite store keeps one connection per thread;
writes are short transactions, so a crash never leaves half-written state.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.aws import AwsClients
from bot.settings import SettingsError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user_id);
CREATE TABLE IF NOT EXISTS audit (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      REAL NOT NULL,
    user_id TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
    namespace  TEXT NOT NULL,
    key        TEXT NOT NULL,
    value      TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (namespace, key)
);
CREATE TABLE IF NOT EXISTS samples (
    series TEXT NOT NULL,
    at     REAL NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (series, at)
);
"""


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


class TokenExists(Exception):
    """A token with this hash is already stored; tokens are never overwritten."""


def encode_value(value: Any) -> str:
    return json.dumps(value, default=str)


def as_stored(value: Any) -> Any:
    """The value as `get` would return it after a `put` (tuples become lists, dates strings)."""
    return json.loads(encode_value(value))


class Store(ABC):
    """What the bot keeps between requests. Callers hold a `Store` and never know the backend."""

    @staticmethod
    def open(url: str, aws: AwsClients | None = None) -> Store:
        """The store OPSBOT_STATE names; `aws` shares its clients with the rest of the bot."""
        if url.startswith("dynamodb://"):
            # Imported here: bot.state_dynamodb builds on this module.
            from bot.state_dynamodb import DynamoStore

            return DynamoStore.connect(url.removeprefix("dynamodb://"), aws)
        if "://" in url:
            raise SettingsError(f"OPSBOT_STATE: expected a SQLite file path or dynamodb://TABLE, got {url!r}")
        path = Path(url).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
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

    # -- key/value (caches, monitor state, prune plans); values are JSON
    @abstractmethod
    def put(self, namespace: str, key: str, value: Any) -> None: ...

    @abstractmethod
    def get(self, namespace: str, key: str) -> Stored | None: ...

    @abstractmethod
    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        """Replace the value with `new` only if it still equals `expected`, atomically across
        threads and processes; False (nothing written) if it differs or the key is missing."""

    # -- time series (capacity history, scores)
    @abstractmethod
    def add_sample(self, series: str, at: float, value: float) -> None:
        """One value per (series, at); a second one at the same time replaces the first."""

    @abstractmethod
    def samples(self, series: str, since: float = 0.0) -> list[tuple[float, float]]:
        """(at, value) pairs with at >= since, oldest first."""


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        # executescript manages its own transaction; the statements are idempotent.
        self._conn().executescript(_SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- personal tokens (only hashes are stored)
    def add_token(self, token_hash: str, user_id: str) -> None:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO tokens(token_hash, user_id, created_at) VALUES (?, ?, ?)",
                    (token_hash, user_id, time.time()),
                )
        except sqlite3.IntegrityError:
            raise TokenExists(token_hash) from None

    def token_owner(self, token_hash: str) -> str | None:
        row = (
            self._conn()
            .execute("SELECT user_id FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", (token_hash,))
            .fetchone()
        )
        return str(row[0]) if row else None

    def revoke_tokens(self, user_id: str) -> int:
        with self._tx() as db:
            cur = db.execute(
                "UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL",
                (time.time(), user_id),
            )
            return cur.rowcount

    # -- audit log
    def audit(self, user_id: str, action: str, **detail: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit(at, user_id, action, detail) VALUES (?, ?, ?, ?)",
                (time.time(), user_id, action, json.dumps(detail, sort_keys=True, default=str)),
            )

    def audit_log(self, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        sql = "SELECT at, user_id, action, detail FROM audit"
        args: tuple[Any, ...] = ()
        if action:
            sql += " WHERE action = ?"
            args = (action,)
        rows = self._conn().execute(sql + " ORDER BY id DESC LIMIT ?", (*args, limit)).fetchall()
        return [AuditEntry(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # -- key/value (caches, monitor state)
    def put(self, namespace: str, key: str, value: Any) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO kv(namespace, key, value, updated_at) VALUES (?, ?, ?, ?)",
                (namespace, key, encode_value(value), time.time()),
            )

    def get(self, namespace: str, key: str) -> Stored | None:
        row = (
            self._conn()
            .execute("SELECT value, updated_at FROM kv WHERE namespace = ? AND key = ?", (namespace, key))
            .fetchone()
        )
        return Stored(json.loads(row[0]), row[1]) if row else None

    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        # BEGIN IMMEDIATE takes the write lock before the read: no other writer runs in between.
        with self._tx() as db:
            row = db.execute("SELECT value FROM kv WHERE namespace = ? AND key = ?", (namespace, key)).fetchone()
            if row is None or json.loads(row[0]) != as_stored(expected):
                return False
            db.execute(
                "UPDATE kv SET value = ?, updated_at = ? WHERE namespace = ? AND key = ?",
                (encode_value(new), time.time(), namespace, key),
            )
            return True

    # -- time series (capacity history, scores)
    def add_sample(self, series: str, at: float, value: float) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO samples(series, at, value) VALUES (?, ?, ?)", (series, at, value))

    def samples(self, series: str, since: float = 0.0) -> list[tuple[float, float]]:
        rows = (
            self._conn()
            .execute("SELECT at, value FROM samples WHERE series = ? AND at >= ? ORDER BY at", (series, since))
            .fetchall()
        )
        return [(float(a), float(v)) for a, v in rows]
