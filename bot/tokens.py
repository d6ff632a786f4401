"""Personal, revocable bearer tokens for the bot's HTTP routes. Only a SHA-256 of each is stored."""

from __future__ import annotations

import hashlib
import secrets

from bot.state import Store

PREFIX = "opsbot_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(store: Store, user_id: str) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    store.add_token(token_hash(token), user_id)
    store.audit(user_id, "token.issue")
    return token


def bearer_token(authorization: str | None) -> str | None:
    """The opsbot token in an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token.startswith(PREFIX) or len(token) > 200:
        return None
    return token


def token_owner(store: Store, authorization: str | None) -> str | None:
    """The user behind an `Authorization: Bearer <token>` header, or None."""
    token = bearer_token(authorization)
    return store.token_owner(token_hash(token)) if token else None
