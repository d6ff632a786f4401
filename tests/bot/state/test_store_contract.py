"""The Store contract, one suite run against every backend: SQLite, and DynamoDB on moto. A caller that
works on one works on the other, at the limits the interface documents, and fails with one StoreError."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.state import Store, StoreError, TokenExists
from bot.state.store import MAX_KEY_BYTES, MAX_VALUE_BYTES
from bot.tokens import issue_token, token_hash, token_owner
from tests.bot.state.test_store import TABLE, create_table, everything_stored


@pytest.fixture(params=["sqlite", "dynamodb"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """Opens a new Store object on the same state each call, as another process would."""
    if request.param == "sqlite":
        return lambda: Store.open(str(tmp_path / "state.db"))
    aws: AwsClients = request.getfixturevalue("aws_clients")
    request.getfixturevalue("moto")
    create_table(aws)
    return lambda: Store.open(f"dynamodb://{TABLE}", aws)


@pytest.fixture
def store(open_store: Any) -> Store:
    opened: Store = open_store()
    return opened


def test_tokens_are_stored_hashed_and_revocable(store: Store) -> None:
    token = issue_token(store, "U0ALICE")
    assert token_owner(store, f"Bearer {token}") == "U0ALICE"
    assert token.encode() not in everything_stored(store)
    assert store.token_owner(token_hash(token)) == "U0ALICE"
    assert store.revoke_tokens("U0ALICE") == 1
    assert token_owner(store, f"Bearer {token}") is None
    assert store.revoke_tokens("U0ALICE") == 0


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc", "Bearer opsbot_nope", "Bearer " + "x" * 5000])
def test_bad_authorization_headers_have_no_owner(store: Store, header: str | None) -> None:
    assert token_owner(store, header) is None


def test_a_token_is_never_overwritten(store: Store) -> None:
    store.add_token("h1", "U0ALICE")
    with pytest.raises(TokenExists):
        store.add_token("h1", "U0MALLORY")
    assert store.token_owner("h1") == "U0ALICE"
    assert store.revoke_tokens("U0MALLORY") == 0  # not even through a half-written index entry
    assert store.token_owner("h1") == "U0ALICE"


def test_revoking_one_user_leaves_the_others(store: Store) -> None:
    store.add_token("a1", "U0ALICE")
    store.add_token("a2", "U0ALICE")
    store.add_token("b1", "U0BOB")
    assert store.revoke_tokens("U0ALICE") == 2
    assert (store.token_owner("a1"), store.token_owner("a2"), store.token_owner("b1")) == (None, None, "U0BOB")


def test_audit_log_keeps_who_did_what(store: Store) -> None:
    store.audit("U0ALICE", "http", path="/eb/x/ip", status=200)
    (entry,) = store.audit_log("http")
    assert (entry.user_id, entry.detail) == ("U0ALICE", {"path": "/eb/x/ip", "status": 200})


def test_audit_log_is_newest_first_for_one_action_or_all(store: Store) -> None:
    for n in range(5):
        store.audit("U0ALICE", "even" if n % 2 == 0 else "odd", n=n)
    assert [e.detail["n"] for e in store.audit_log()] == [4, 3, 2, 1, 0]
    assert [e.detail["n"] for e in store.audit_log(limit=2)] == [4, 3]
    assert [e.detail["n"] for e in store.audit_log("even")] == [4, 2, 0]
    assert [(e.action, e.detail["n"]) for e in store.audit_log("odd", limit=1)] == [("odd", 3)]
    assert store.audit_log("none-such") == []


def test_kv_values_come_back_as_json(store: Store) -> None:
    store.put("ns", "k", {"ratio": 0.1, "sizes": (1, 2), "none": None, "nested": {"x": [1.5e300]}})
    got = store.get("ns", "k")
    assert got is not None
    assert got.value == {"ratio": 0.1, "sizes": [1, 2], "none": None, "nested": {"x": [1.5e300]}}
    assert got.updated_at > 1.6e9
    store.put("ns", "k", None)  # a stored None is not a missing key
    none = store.get("ns", "k")
    assert none is not None and none.value is None


def test_samples_are_in_time_order_and_a_time_is_written_once(store: Store) -> None:
    at = 1_715_000_000.123456
    for offset in (3, 1, 2):
        store.add_sample("s", at + offset, offset)
    store.add_sample("s", at + 2, 22.5)
    assert store.samples("s") == [(at + 1, 1.0), (at + 2, 22.5), (at + 3, 3.0)]
    assert store.samples("s", since=at + 2) == [(at + 2, 22.5), (at + 3, 3.0)]
    assert store.samples("s", since=at + 3.000001) == []
    assert store.samples("other") == []


def test_a_claim_swaps_only_the_expected_value(store: Store) -> None:
    record: dict[str, Any] = {"plan": {"id": "p1", "versions": (1, 2)}, "used_by": None}
    store.put("plans", "p1", record)
    stored = store.get("plans", "p1")
    assert stored is not None
    assert store.claim("plans", "p1", record, {**record, "used_by": "U0ALICE"})  # tuples compare as lists
    assert not store.claim("plans", "p1", stored.value, {**record, "used_by": "U0BOB"})
    assert store.get("plans", "p1").value["used_by"] == "U0ALICE"  # type: ignore[union-attr]
    assert not store.claim("plans", "missing", None, {"used_by": "U0BOB"})
    assert store.get("plans", "missing") is None


def test_a_claim_keeps_the_records_expiry(store: Store) -> None:
    store.put("outbox", "r1", {"owner": ""}, expires_at=time.time() + 1)
    assert store.claim("outbox", "r1", {"owner": ""}, {"owner": "me"})
    deadline = time.monotonic() + 10
    while store.get("outbox", "r1") is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert store.get("outbox", "r1") is None, "the claimed record outlived its expiry"


def test_for_update_writes_the_initial_value_only_where_there_is_none(store: Store) -> None:
    assert store.for_update("cursors", "new", {"last": None}) == {"last": None}
    store.put("cursors", "old", {"last": 5})
    assert store.for_update("cursors", "old", {"last": None}) == {"last": 5}
    assert store.claim("cursors", "new", {"last": None}, {"last": 7})
    assert store.for_update("cursors", "new", {"last": None}) == {"last": 7}


def simultaneous_claims(stores: list[Store], presses: int) -> list[bool | str]:
    """What each of `presses` claims, started together over `stores` in turn, returned; an error as its text.

    A loser must be told False, not fail: a press that raises would answer the user with an error
    although the plan was simply used by the other press."""
    start = threading.Barrier(presses)
    results: list[bool | str] = [f"press {n} never finished" for n in range(presses)]

    def press(n: int) -> None:
        start.wait()
        try:
            results[n] = stores[n % len(stores)].claim("plans", "p1", {"used_by": None}, {"used_by": f"U{n}"})
        except StoreError as exc:
            results[n] = f"StoreError: {exc}"

    threads = [threading.Thread(target=press, args=(n,)) for n in range(presses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_one_of_many_simultaneous_claims_wins_and_the_others_are_told_no(store: Store) -> None:
    store.put("plans", "p1", {"used_by": None})
    results = simultaneous_claims([store], 8)
    assert sorted(results, key=str) == [False] * 7 + [True], results
    assert store.get("plans", "p1").value == {"used_by": f"U{results.index(True)}"}  # type: ignore[union-attr]


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


def test_large_values_are_compressed_and_too_large_ones_refused_by_every_backend(store: Store) -> None:
    report = {"functions": [[f"fn-{n}", "Zip", [[str(v), 1000 + v] for v in range(20)]] for n in range(2000)]}
    store.put("cache", "us-east-1", report)  # over 1 MB of JSON
    assert store.get("cache", "us-east-1").value == report  # type: ignore[union-attr]
    noise = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(20_000)]  # incompressible
    with pytest.raises(StoreError, match="a state value is at most 390 KB compressed"):
        store.put("cache", "us-east-1", noise)
    assert store.get("cache", "us-east-1").value == report  # type: ignore[union-attr]


def test_expired_records_are_gone_for_every_reader(store: Store) -> None:
    past, future = time.time() - 1, time.time() + 3600
    store.put("ns", "old", 1, expires_at=past)
    store.put("ns", "new", 2, expires_at=future)
    store.put("ns", "kept", 3)
    assert store.get("ns", "old") is None
    assert [(k, s.value) for k, s in store.items("ns")] == [("kept", 3), ("new", 2)]
    assert not store.claim("ns", "old", 1, 9)
    assert store.add("ns", "old", 4)  # an expired record counts as absent
    assert not store.add("ns", "new", 5)
    assert (store.get("ns", "old").value, store.get("ns", "new").value) == (4, 2)  # type: ignore[union-attr]


def test_a_claimed_record_keeps_its_expiry(store: Store) -> None:
    expires_at = time.time() + 2  # room for the claim on a loaded machine
    store.put("ns", "lease", "free", expires_at=expires_at)
    assert store.claim("ns", "lease", "free", "taken")
    assert store.get("ns", "lease").value == "taken"  # type: ignore[union-attr]
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)  # past a fixed instant, not a race
    assert store.get("ns", "lease") is None
    assert store.items("ns") == []


def test_delete_and_items_in_key_order_up_to_a_limit(store: Store) -> None:
    for key in ("b", "a", "c"):
        store.put("ns", key, key.upper())
    store.put("other", "a", 0)
    store.delete("ns", "b")
    store.delete("ns", "never-there")
    assert [(k, s.value) for k, s in store.items("ns")] == [("a", "A"), ("c", "C")]
    assert [k for k, _ in store.items("ns", limit=1)] == ["a"]


@pytest.mark.parametrize("key", ["k", "é" * 512, "k" * MAX_KEY_BYTES], ids=["1-byte", "1024-utf8", "1024-ascii"])
def test_keys_of_1_to_1024_bytes_work(store: Store, key: str) -> None:
    store.put("ns", key, 1)
    assert store.get("ns", key).value == 1  # type: ignore[union-attr]
    assert store.claim("ns", key, 1, 2) and [k for k, _ in store.items("ns")] == [key]


@pytest.mark.parametrize("key", ["", "k" * (MAX_KEY_BYTES + 1), "é" * 512 + "k"], ids=["0", "1025", "1025-utf8"])
def test_keys_outside_the_limits_are_refused_alike(store: Store, key: str) -> None:
    for call in (lambda: store.put("ns", key, 1), lambda: store.get("ns", key), lambda: store.add("ns", key, 1),
                 lambda: store.claim("ns", key, 1, 2), lambda: store.delete("ns", key)):  # fmt: skip
        with pytest.raises(StoreError, match="state keys are 1 to 1024 bytes"):
            call()
    assert store.items("ns") == []


def _incompressible(compressed_bytes: int) -> str:
    """The longest random text whose JSON is at most `compressed_bytes` zlib-compressed."""
    noise = base64.b64encode(random.Random(7).randbytes(compressed_bytes)).decode()
    low, high = 0, len(noise)
    while low < high:
        mid = (low + high + 1) // 2
        fits = len(zlib.compress(json.dumps(noise[:mid]).encode())) <= compressed_bytes
        low, high = (mid, high) if fits else (low, mid - 1)
    return noise[:low]


def test_a_value_at_the_compressed_limit_is_kept_and_one_byte_more_refused(store: Store) -> None:
    at_limit = _incompressible(MAX_VALUE_BYTES)
    store.put("ns", "k", at_limit)
    assert store.get("ns", "k").value == at_limit  # type: ignore[union-attr]
    over = at_limit + base64.b64encode(random.Random(8).randbytes(64)).decode()
    with pytest.raises(StoreError, match="a state value is at most 390 KB compressed"):
        store.put("ns", "k", over)
    assert store.get("ns", "k").value == at_limit  # type: ignore[union-attr]


def test_a_claim_race_between_two_store_objects_has_one_winner_and_no_error(open_store: Any) -> None:
    stores = [open_store(), open_store()]
    stores[0].put("plans", "p1", {"used_by": None})
    results = simultaneous_claims(stores, 8)
    assert sorted(results, key=str) == [False] * 7 + [True], results
    assert stores[1].get("plans", "p1").value == {"used_by": f"U{results.index(True)}"}  # type: ignore[union-attr]


def test_dynamodb_throttled_past_the_retries_is_a_store_error(moto: str, aws_clients: AwsClients) -> None:
    create_table(aws_clients)
    store = Store.open(f"dynamodb://{TABLE}", aws_clients)
    # What botocore raises once its retries are spent; Stubber answers before the retry handler runs.
    with Stubber(aws_clients.client("dynamodb")) as stub:
        stub.add_client_error("put_item", "ProvisionedThroughputExceededException", "Rate of requests exceeds")
        with pytest.raises(StoreError) as raised:
            store.put("ns", "k", 1)
    assert str(raised.value) == (
        "State store (DynamoDB table opsbot-state): AWS is throttling dynamodb:PutItem; try again in a minute."
    )


def test_a_file_that_is_not_sqlite_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "state.db").write_bytes(b"not a database, " * 100)
    with pytest.raises(StoreError) as raised:
        Store.open(str(tmp_path / "state.db"))
    assert str(raised.value) == f"State store (SQLite file {tmp_path / 'state.db'}): file is not a database"
