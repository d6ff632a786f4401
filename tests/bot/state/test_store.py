from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.settings import SettingsError
from bot.state import Store
from bot.state.dynamodb import DynamoStore
from bot.state.sqlite import SqliteStore

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


# -- SQLite


def test_a_failed_write_leaves_nothing_half_done(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "state.db"))
    with pytest.raises(RuntimeError), store._tx() as db:
        db.execute("INSERT INTO kv VALUES ('ns', 'k', '1', 0, NULL)")
        raise RuntimeError("crash mid-write")
    assert store.get("ns", "k") is None


def test_expired_records_are_deleted_by_a_later_write_not_only_hidden(tmp_path: Path) -> None:
    def rows(store: SqliteStore) -> list[str]:
        return [str(key) for (key,) in store._conn().execute("SELECT key FROM kv ORDER BY key")]

    path = str(tmp_path / "state.db")
    writer = SqliteStore(path, purge_every=3600)
    past = time.time() - 1
    writer.put("job-ticks", "old-tick", {"holder": "gone"}, expires_at=past)  # the first write purges: none yet
    assert writer.add("seen-requests", "sig", 1, expires_at=past)
    writer.put("caches", "kept", 1)
    writer.put("caches", "later", 1, expires_at=time.time() + 3600)
    assert rows(writer) == ["kept", "later", "old-tick", "sig"], "at most one purge a minute (here an hour)"

    SqliteStore(path, purge_every=0).put("caches", "next", 2)

    assert rows(writer) == ["kept", "later", "next"]


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
