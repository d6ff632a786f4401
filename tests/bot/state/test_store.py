from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.settings import SettingsError
from bot.state import Store, StoreError, TokenExists
from bot.state.dynamodb import DynamoStore
from bot.state.sqlite import SqliteStore
from bot.tokens import issue_token, token_hash, token_owner

TABLE = "opsbot-state"


def create_table(aws: AwsClients, name: str = TABLE, sort_key: str = "sk") -> None:
    aws.client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": sort_key, "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": sort_key, "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )


@pytest.fixture
def dynamo(moto: str, aws_clients: AwsClients) -> AwsClients:
    """moto with an empty state table."""
    create_table(aws_clients)
    return aws_clients


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        return Store.open(str(tmp_path / "state.db"))
    return Store.open(f"dynamodb://{TABLE}", request.getfixturevalue("dynamo"))


@pytest.fixture
def small_pages(dynamo: AwsClients) -> DynamoStore:
    """A DynamoDB store that reads 3 items per Query page, so that a few items take many pages."""
    return DynamoStore(dynamo.client("dynamodb"), TABLE, page_size=3)


@contextmanager
def counted_queries(client: Any) -> Iterator[list[int]]:
    """The item count of each Query page the client reads while inside."""
    pages: list[int] = []

    def count(parsed: dict[str, Any], **_: Any) -> None:
        pages.append(parsed["Count"])

    client.meta.events.register("after-call.dynamodb.Query", count)
    try:
        yield pages
    finally:
        client.meta.events.unregister("after-call.dynamodb.Query", count)


def everything_stored(store: Store) -> bytes:
    if isinstance(store, SqliteStore):
        return b"".join(p.read_bytes() for p in Path(store.path).parent.glob(Path(store.path).name + "*"))
    assert isinstance(store, DynamoStore)
    items = store._client.scan(TableName=TABLE)["Items"]
    return json.dumps(items).encode()


# -- both backends


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


def test_kv_and_samples(store: Store) -> None:
    assert store.get("ns", "k") is None
    store.put("ns", "k", {"total": 5})
    got = store.get("ns", "k")
    assert got is not None and got.value == {"total": 5}
    store.add_sample("s", 1.0, 10.0)
    store.add_sample("s", 2.0, 20.0)
    assert store.samples("s", since=1.5) == [(2.0, 20.0)]


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


def test_one_of_many_simultaneous_claims_wins(store: Store) -> None:
    store.put("plans", "p1", {"used_by": None})
    wins: list[str] = []

    def press(user: str) -> None:
        if store.claim("plans", "p1", {"used_by": None}, {"used_by": user}):
            wins.append(user)

    threads = [threading.Thread(target=press, args=(f"U{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(wins) == 1
    assert store.get("plans", "p1").value == {"used_by": wins[0]}  # type: ignore[union-attr]


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


# -- SQLite


def test_a_failed_write_leaves_nothing_half_done(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"))
    with pytest.raises(RuntimeError), store._tx() as db:
        db.execute("INSERT INTO kv VALUES ('ns', 'k', '1', 0, NULL)")
        raise RuntimeError("crash mid-write")
    assert store.get("ns", "k") is None


@pytest.mark.parametrize("url", ["https://example.com/state", "s3://bucket/state.db"])
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(SettingsError, match="OPSBOT_STATE: expected a SQLite file path or dynamodb://TABLE"):
        Store.open(url)


# -- DynamoDB


def test_dynamodb_url_opens_the_table(dynamo: AwsClients) -> None:
    store = Store.open(f"dynamodb://{TABLE}", dynamo)
    assert isinstance(store, DynamoStore) and store.table == TABLE


def test_a_missing_table_says_how_to_create_it(moto: str, aws_clients: AwsClients) -> None:
    with pytest.raises(SettingsError) as raised:
        Store.open("dynamodb://opsbot-nope", aws_clients)
    assert str(raised.value) == (
        "OPSBOT_STATE: DynamoDB table opsbot-nope not found in us-east-1; "
        "create it with partition key pk and sort key sk (strings)"
    )


def test_a_table_with_another_key_schema_is_refused(moto: str, aws_clients: AwsClients) -> None:
    create_table(aws_clients, "opsbot-other", sort_key="id")
    with pytest.raises(SettingsError, match="opsbot-other in us-east-1 has another key schema"):
        Store.open("dynamodb://opsbot-other", aws_clients)


@pytest.mark.parametrize("name", ["", "ab", "has space", "a/b", "x" * 256])
def test_a_bad_table_name_is_refused(name: str) -> None:
    with pytest.raises(SettingsError, match="is not a DynamoDB table name"):
        Store.open(f"dynamodb://{name}")


def test_a_denied_describe_table_names_the_permission(moto_url: str) -> None:
    aws = AwsClients()  # its own client: the stub must not leak into other tests
    with Stubber(aws.client("dynamodb")) as stub:
        stub.add_client_error(
            "describe_table",
            "AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/opsbot/x is not authorized to perform: "
            "dynamodb:DescribeTable on resource: arn:aws:dynamodb:us-east-1:123456789012:table/opsbot",
        )
        with pytest.raises(SettingsError) as raised:
            Store.open("dynamodb://opsbot", aws)
    assert str(raised.value) == (
        "OPSBOT_STATE: Access denied: the bot's AWS role lacks the IAM permission dynamodb:DescribeTable."
    )


def test_revoke_reaches_every_token_across_pages(small_pages: DynamoStore) -> None:
    for n in range(20):
        small_pages.add_token(f"h{n:02}", "U0ALICE")
    small_pages.add_token("other", "U0BOB")
    with counted_queries(small_pages._client) as pages:
        assert small_pages.revoke_tokens("U0ALICE") == 20
    assert len(pages) == 7  # 20 index entries, 3 a page
    assert [small_pages.token_owner(f"h{n:02}") for n in (0, 10, 19)] == [None, None, None]
    assert small_pages.token_owner("other") == "U0BOB"


def test_reads_follow_every_page(small_pages: DynamoStore) -> None:
    for n in range(10):
        small_pages.add_sample("s", 1000 + n, n)
        small_pages.audit("U0ALICE", "page", n=n)
    assert [v for _, v in small_pages.samples("s")] == [float(n) for n in range(10)]
    assert [v for _, v in small_pages.samples("s", since=1004)] == [float(n) for n in range(4, 10)]
    assert [e.detail["n"] for e in small_pages.audit_log("page", limit=8)] == list(range(9, 1, -1))
    assert len(small_pages.audit_log(limit=-1)) == 10


def test_more_than_a_megabyte_of_audit_log_is_read_in_pages(dynamo: AwsClients) -> None:
    store = Store.open(f"dynamodb://{TABLE}", dynamo)
    for n in range(6):  # 6 x 200 KB: DynamoDB (and moto) stop a Query page at 1 MB
        store.audit("U0ALICE", "big", n=n, blob="x" * 200_000)
    with counted_queries(dynamo.client("dynamodb")) as pages:
        assert [e.detail["n"] for e in store.audit_log("big")] == [5, 4, 3, 2, 1, 0]
    assert len(pages) >= 2 and sum(pages) == 6


def test_large_values_are_compressed_and_too_large_ones_refused_by_every_backend(store: Store) -> None:
    report = {"functions": [[f"fn-{n}", "Zip", [[str(v), 1000 + v] for v in range(20)]] for n in range(2000)]}
    store.put("cache", "us-east-1", report)  # over 1 MB of JSON
    assert store.get("cache", "us-east-1").value == report  # type: ignore[union-attr]
    noise = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(20_000)]  # incompressible
    with pytest.raises(StoreError, match="a state value is at most 390 KB compressed"):
        store.put("cache", "us-east-1", noise)
    assert store.get("cache", "us-east-1").value == report  # type: ignore[union-attr]


def test_the_iam_policy_allows_every_call_the_store_makes(dynamo: AwsClients) -> None:
    called: set[str] = set()

    def record(model: Any, **_: Any) -> None:
        called.add(model.name)

    client = dynamo.client("dynamodb")
    client.meta.events.register("before-call.dynamodb", record)
    try:
        store = Store.open(f"dynamodb://{TABLE}", dynamo)
        store.add_token("h1", "U0ALICE")
        store.token_owner("h1")
        store.revoke_tokens("U0ALICE")
        store.audit("U0ALICE", "http")
        store.audit_log()
        store.put("ns", "k", 1)
        store.get("ns", "k")
        store.claim("ns", "k", 1, 2)
        store.delete("ns", "k")  # the Slack outbox deletes what was delivered
        store.add_sample("s", 1.0, 1.0)
        store.samples("s")
    finally:
        client.meta.events.unregister("before-call.dynamodb", record)
    # A transaction's Put is authorized as dynamodb:PutItem.
    actions = {"dynamodb:" + ("PutItem" if op == "TransactWriteItems" else op) for op in called}
    policy = json.loads((Path(__file__).parents[3] / "deploy" / "iam-policy.json").read_text())
    (statement,) = [s for s in policy["Statement"] if s["Sid"] == "StateInDynamoDB"]
    assert actions == set(statement["Action"])
    assert statement["Resource"] == "arn:aws:dynamodb:*:*:table/opsbot*"
