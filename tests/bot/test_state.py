from __future__ import annotations

import threading
from pathlib import Path

import pytest

from bot.settings import SettingsError
from bot.state import Store
from bot.tokens import issue_token, token_hash, token_owner


def test_tokens_are_stored_hashed_and_revocable(store: Store) -> None:
    token = issue_token(store, "U0ALICE")
    assert token_owner(store, f"Bearer {token}") == "U0ALICE"
    raw = Path(store.path).read_bytes()
    assert token.encode() not in raw
    assert store.token_owner(token_hash(token)) == "U0ALICE"
    assert store.revoke_tokens("U0ALICE") == 1
    assert token_owner(store, f"Bearer {token}") is None


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer opsbot_nope", "Bearer " + "x" * 5000])
def test_bad_authorization_headers_have_no_owner(store: Store, header: str | None) -> None:
    assert token_owner(store, header) is None


def test_audit_log_keeps_who_did_what(store: Store) -> None:
    store.audit("U0ALICE", "http", path="/eb/x/ip", status=200)
    (entry,) = store.audit_log("http")
    assert (entry.user_id, entry.detail) == ("U0ALICE", {"path": "/eb/x/ip", "status": 200})


def test_kv_and_samples(store: Store) -> None:
    assert store.get("ns", "k") is None
    store.put("ns", "k", {"total": 5})
    got = store.get("ns", "k")
    assert got is not None and got.value == {"total": 5}
    store.add_sample("s", 1.0, 10.0)
    store.add_sample("s", 2.0, 20.0)
    assert store.samples("s", since=1.5) == [(2.0, 20.0)]


def test_a_failed_write_leaves_nothing_half_done(store: Store) -> None:
    with pytest.raises(RuntimeError), store._tx() as db:
        db.execute("INSERT INTO kv VALUES ('ns', 'k', '1', 0)")
        raise RuntimeError("crash mid-write")
    assert store.get("ns", "k") is None


def test_concurrent_writers(store: Store) -> None:
    def write(n: int) -> None:
        for i in range(20):
            store.add_sample("c", n * 100 + i, i)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(store.samples("c")) == 100


def test_dynamodb_state_is_refused_clearly() -> None:
    with pytest.raises(SettingsError, match="OPSBOT_STATE"):
        Store.open("dynamodb://opsbot")
