"""One account's view of the store: its records and time series apart from every other account's.

With accounts configured, what a command keeps about AWS (report caches, forecasts, the monitor's
alert state, prune plans) belongs to the account it was read from: `/lambda-capacity` in prod must
never answer from a staging scan. Personal tokens and the audit log are the bot's, shared by all.
"""

from __future__ import annotations

from typing import Any

from bot.state.store import AuditEntry, Store, Stored


class AccountStore(Store):
    def __init__(self, inner: Store, account: str) -> None:
        self.inner = inner
        self.prefix = f"account/{account}/"

    # -- the bot's, shared
    def add_token(self, token_hash: str, user_id: str) -> None:
        self.inner.add_token(token_hash, user_id)

    def token_owner(self, token_hash: str) -> str | None:
        return self.inner.token_owner(token_hash)

    def revoke_tokens(self, user_id: str) -> int:
        return self.inner.revoke_tokens(user_id)

    def audit(self, user_id: str, action: str, **detail: Any) -> None:
        self.inner.audit(user_id, action, **detail)

    def audit_log(self, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        return self.inner.audit_log(action, limit)

    # -- the account's
    def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None:
        self.inner.put(self.prefix + namespace, key, value, expires_at)

    def get(self, namespace: str, key: str) -> Stored | None:
        return self.inner.get(self.prefix + namespace, key)

    def add(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> bool:
        return self.inner.add(self.prefix + namespace, key, value, expires_at)

    def delete(self, namespace: str, key: str) -> None:
        self.inner.delete(self.prefix + namespace, key)

    def items(self, namespace: str, limit: int = 1000) -> list[tuple[str, Stored]]:
        return self.inner.items(self.prefix + namespace, limit)

    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        return self.inner.claim(self.prefix + namespace, key, expected, new)

    def add_sample(self, series: str, at: float, value: float) -> None:
        self.inner.add_sample(self.prefix + series, at, value)

    def samples(self, series: str, since: float = 0.0) -> list[tuple[float, float]]:
        return self.inner.samples(self.prefix + series, since)


def account_store(store: Store, account: str) -> Store:
    """`store` as `account` sees it (the bot's own store when given an account's view already)."""
    inner = store.inner if isinstance(store, AccountStore) else store
    return AccountStore(inner, account)
