"""What the bot keeps between requests: `Store` and its backends (SQLite, DynamoDB)."""

from bot.state.store import AuditEntry, Store, Stored, StoreError, TokenExists

__all__ = ["AuditEntry", "Store", "StoreError", "Stored", "TokenExists"]
