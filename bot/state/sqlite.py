"""The state store in one SQLite file: one connection per thread, every write a short
transaction, so a crash never leaves half-written state."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.state.store import (
    AuditEntry,
    Store,
    Stored,
    StoreError,
    TokenExists,
    as_stored,
    check_key,
    check_value,
    raising_store_errors,
)

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
    expires_at REAL,
    PRIMARY KEY (namespace, key)
);
CREATE INDEX IF NOT EXISTS kv_expires ON kv(expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS samples (
    series TEXT NOT NULL,
    at     REAL NOT NULL,
    value  REAL NOT NULL,
    PRIMARY KEY (series, at)
);
"""


_LIVE = "(expires_at IS NULL OR expires_at > ?)"
PURGE_EVERY = 60.0  # seconds between deletes of expired records, by whichever write comes first


def _describe(store: SqliteStore, exc: BaseException) -> str:
    return f"State store (SQLite file {store.path}): {exc}"  # e.g. "database is locked", "disk I/O error"


@raising_store_errors((sqlite3.Error,), _describe)
class SqliteStore(Store):
    def __init__(self, path: str, purge_every: float = PURGE_EVERY) -> None:
        self.path = path
        self._local = threading.local()
        self._purge_every = purge_every
        self._purged_at = 0.0
        try:
            self._create()
        except sqlite3.Error as exc:
            raise StoreError(_describe(self, exc)) from exc

    def _create(self) -> None:
        # executescript manages its own transaction; the statements are idempotent.
        self._conn().executescript(_SCHEMA)
        columns = {row[1] for row in self._conn().execute("PRAGMA table_info(kv)")}
        if "expires_at" not in columns:  # a file written by an earlier version
            self._conn().execute("ALTER TABLE kv ADD COLUMN expires_at REAL")

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self._local.conn = conn
        return conn

    def _purge_if_due(self, db: sqlite3.Connection, now: float) -> None:
        """Delete what has expired: readers already skip it, but nothing else would ever remove it."""
        if now - self._purged_at >= self._purge_every:
            self._purged_at = now
            db.execute("DELETE FROM kv WHERE expires_at IS NOT NULL AND expires_at <= ?", (now,))

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

    # -- key/value (caches, monitor state, prune plans, the outbox)
    def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None:
        with self._tx() as db:
            self._purge_if_due(db, time.time())
            db.execute(
                "INSERT OR REPLACE INTO kv(namespace, key, value, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (namespace, check_key(key), check_value(value), time.time(), expires_at),
            )

    def get(self, namespace: str, key: str) -> Stored | None:
        row = (
            self._conn()
            .execute(
                f"SELECT value, updated_at FROM kv WHERE namespace = ? AND key = ? AND {_LIVE}",
                (namespace, check_key(key), time.time()),
            )
            .fetchone()
        )
        return Stored(json.loads(row[0]), row[1]) if row else None

    def add(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> bool:
        text = check_value(value)
        with self._tx() as db:
            now = time.time()
            self._purge_if_due(db, now)
            live = db.execute(
                f"SELECT 1 FROM kv WHERE namespace = ? AND key = ? AND {_LIVE}", (namespace, check_key(key), now)
            ).fetchone()
            if live:
                return False
            db.execute(
                "INSERT OR REPLACE INTO kv(namespace, key, value, updated_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (namespace, key, text, now, expires_at),
            )
            return True

    def delete(self, namespace: str, key: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM kv WHERE namespace = ? AND key = ?", (namespace, check_key(key)))

    def items(self, namespace: str, limit: int = 1000) -> list[tuple[str, Stored]]:
        rows = (
            self._conn()
            .execute(
                f"SELECT key, value, updated_at FROM kv WHERE namespace = ? AND {_LIVE} ORDER BY key LIMIT ?",
                (namespace, time.time(), limit),
            )
            .fetchall()
        )
        return [(str(k), Stored(json.loads(v), float(at))) for k, v, at in rows]

    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        # BEGIN IMMEDIATE takes the write lock before the read: no other writer runs in between.
        with self._tx() as db:
            row = db.execute(
                f"SELECT value FROM kv WHERE namespace = ? AND key = ? AND {_LIVE}",
                (namespace, check_key(key), time.time()),
            ).fetchone()
            if row is None or json.loads(row[0]) != as_stored(expected):
                return False
            db.execute(
                "UPDATE kv SET value = ?, updated_at = ? WHERE namespace = ? AND key = ?",
                (check_value(new), time.time(), namespace, key),
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
