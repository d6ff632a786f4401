"""The state store in one DynamoDB table, for AWS Lambda, where a SQLite file in /tmp lives and
dies with its container.

One table, string keys `pk` (partition) and `sk` (sort), no index to deploy:

    pk                   sk                    attributes
    token#<hash>         token                 user_id, created_at, revoked_at
    user-tokens#<user>   <hash>                (what revoke_tokens reads instead of a GSI)
    audit                <ISO time>#<uuid>     at, user_id, action, detail: all actions
    audit#<action>       <ISO time>#<uuid>     the same entry: one action
    kv#<namespace>       <key>                 value (JSON) or value_z (zlib), updated_at, rev, expires_at
    samples#<series>     <zero-padded time>    at, value

Each audit entry is written twice so that both `audit_log()` and `audit_log(action)` read only
the entries they return, never filtering through the rest of the log. The `audit` partition
takes every audit write; one partition sustains 1,000 writes a second, far above a chat bot's.
Writes of two items are one TransactWriteItems, so a crash never leaves one without the other.
Reads are strongly consistent: callers read their own writes, as with SQLite. A record written
with an expiry carries it in `expires_at` (epoch seconds), the attribute the templates' tables
name for DynamoDB's TTL, which deletes it some time after it expired; readers skip it before that.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import time
import uuid
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from bot.aws import AWS_ERRORS, AwsClients, describe_aws_error
from bot.settings import SettingsError
from bot.state.store import (
    INLINE_VALUE_BYTES,
    AuditEntry,
    Store,
    Stored,
    TokenExists,
    as_stored,
    check_key,
    check_value,
    raising_store_errors,
)

TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
KEY_SCHEMA = "partition key pk and sort key sk (strings)"
LATEST_SAMPLE = 1e11  # sample sort keys have 11 digits of seconds (until the year 5138)
CLAIM_ATTEMPTS = 3
TTL_ATTRIBUTE = "expires_at"  # deploy/*.yaml: TimeToLiveSpecification

_serialize = TypeSerializer().serialize
_deserialize = TypeDeserializer().deserialize


@cache
def _shared_aws() -> AwsClients:
    # For callers that pass no AwsClients: still build the client once per process, not per open.
    return AwsClients()


def _describe(store: DynamoStore, exc: BaseException) -> str:
    return f"State store (DynamoDB table {store.table}): {describe_aws_error(exc)}"


@raising_store_errors(AWS_ERRORS, _describe)
class DynamoStore(Store):
    def __init__(self, client: Any, table: str, page_size: int | None = None) -> None:
        self._client = client
        self.table = table
        self._page_size = page_size  # Query's Limit; None lets DynamoDB fill 1 MB pages

    @classmethod
    def connect(cls, table: str, aws: AwsClients | None = None) -> DynamoStore:
        """The store on an existing table; a missing table or another key schema is a settings error."""
        if not TABLE_NAME.fullmatch(table):
            raise SettingsError(f"OPSBOT_STATE: {table!r} is not a DynamoDB table name (3-255 of A-Z a-z 0-9 _ . -)")
        try:
            client = (aws or _shared_aws()).client("dynamodb")
            described = client.describe_table(TableName=table)["Table"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
                raise SettingsError(f"OPSBOT_STATE: {describe_aws_error(exc)}") from exc
            region = client.meta.region_name
            raise SettingsError(
                f"OPSBOT_STATE: DynamoDB table {table} not found in {region}; create it with {KEY_SCHEMA}"
            ) from None
        except BotoCoreError as exc:
            raise SettingsError(f"OPSBOT_STATE: {describe_aws_error(exc)}") from exc
        keys = {k["AttributeName"]: k["KeyType"] for k in described["KeySchema"]}
        types = {a["AttributeName"]: a["AttributeType"] for a in described["AttributeDefinitions"]}
        if keys != {"pk": "HASH", "sk": "RANGE"} or types.get("pk") != "S" or types.get("sk") != "S":
            raise SettingsError(
                f"OPSBOT_STATE: DynamoDB table {table} in {client.meta.region_name} has another key schema; "
                f"opsbot needs {KEY_SCHEMA}"
            )
        return cls(client, table)

    # -- personal tokens (only hashes are stored)
    def add_token(self, token_hash: str, user_id: str) -> None:
        token = _item(f"token#{token_hash}", "token", user_id=user_id, created_at=time.time())
        index = _item(f"user-tokens#{user_id}", token_hash)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.table,
                            "Item": token,
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": index}},
                ]
            )
        except ClientError as exc:
            reasons = exc.response.get("CancellationReasons") or []
            if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
                raise TokenExists(token_hash) from None
            raise

    def token_owner(self, token_hash: str) -> str | None:
        token = self._get(f"token#{token_hash}", "token")
        return str(token["user_id"]) if token and "revoked_at" not in token else None

    def revoke_tokens(self, user_id: str) -> int:
        now = _number(time.time())
        revoked = 0
        for entry in self._query(f"user-tokens#{user_id}"):
            try:
                self._client.update_item(
                    TableName=self.table,
                    Key=_item(f"token#{entry['sk']}", "token"),
                    UpdateExpression="SET #revoked = :now",
                    # Only this user's live tokens, as SQL's WHERE; never creates an item.
                    ConditionExpression="#user = :user AND attribute_not_exists(#revoked)",
                    ExpressionAttributeNames={"#user": "user_id", "#revoked": "revoked_at"},
                    ExpressionAttributeValues={":now": _serialize(now), ":user": _serialize(user_id)},
                )
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
                continue
            revoked += 1
        return revoked

    # -- audit log
    def audit(self, user_id: str, action: str, **detail: Any) -> None:
        at = time.time()
        sk = f"{datetime.fromtimestamp(at, UTC).isoformat(timespec='microseconds')}#{uuid.uuid4().hex}"
        detail_json = json.dumps(detail, sort_keys=True, default=str)
        entry = {"at": at, "user_id": user_id, "action": action, "detail": detail_json}
        views = ("audit", f"audit#{action}")
        self._client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self.table, "Item": _item(pk, sk, **entry)}} for pk in views]
        )

    def audit_log(self, action: str | None = None, limit: int = 100) -> list[AuditEntry]:
        # As SQL's LIMIT: a negative limit means no limit.
        wanted = None if limit < 0 else limit
        items = self._query(f"audit#{action}" if action else "audit", newest_first=True, limit=wanted)
        return [
            AuditEntry(float(i["at"]), i["user_id"], i["action"], json.loads(i["detail"]))
            for i in itertools.islice(items, wanted)
        ]

    # -- key/value (caches, monitor state, prune plans, the outbox)
    def put(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> None:
        self._client.put_item(TableName=self.table, Item=self._kv_item(namespace, key, value, expires_at))

    def get(self, namespace: str, key: str) -> Stored | None:
        item = self._get(f"kv#{namespace}", check_key(key))
        return _stored(item) if item and _live(item) else None

    def add(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> bool:
        try:
            self._client.put_item(
                TableName=self.table,
                Item=self._kv_item(namespace, key, value, expires_at),
                # DynamoDB's TTL deletes expired items only eventually: an expired one counts as absent.
                ConditionExpression="attribute_not_exists(pk) OR #exp <= :now",
                ExpressionAttributeNames={"#exp": TTL_ATTRIBUTE},
                ExpressionAttributeValues={":now": _serialize(_number(time.time()))},
            )
        except ClientError as exc:
            if _code(exc) != "ConditionalCheckFailedException":
                raise
            return False
        return True

    def delete(self, namespace: str, key: str) -> None:
        self._client.delete_item(TableName=self.table, Key=_item(f"kv#{namespace}", check_key(key)))

    def items(self, namespace: str, limit: int = 1000) -> list[tuple[str, Stored]]:
        live = (item for item in self._query(f"kv#{namespace}") if _live(item))
        return [(str(item["sk"]), _stored(item)) for item in itertools.islice(live, limit)]

    def claim(self, namespace: str, key: str, expected: Any, new: Any) -> bool:
        want = as_stored(expected)
        for _ in range(CLAIM_ATTEMPTS):
            item = self._get(f"kv#{namespace}", check_key(key))
            if item is None or not _live(item) or json.loads(_value_text(item)) != want:
                return False
            try:
                # Every write gets a new `rev`: unchanged since our read means nobody wrote in between.
                self._client.put_item(
                    TableName=self.table,
                    # The expiry stays, as SQLite's UPDATE keeps it: a claimed record is as ephemeral as it was.
                    Item=self._kv_item(namespace, key, new, item.get(TTL_ATTRIBUTE)),
                    ConditionExpression="#rev = :rev",
                    ExpressionAttributeNames={"#rev": "rev"},
                    ExpressionAttributeValues={":rev": _serialize(item["rev"])},
                )
                return True
            except ClientError as exc:
                if _code(exc) != "ConditionalCheckFailedException":
                    raise
            # Someone wrote in between; it may still be the expected value, so look again.
        return False

    # -- time series (capacity history, scores)
    def add_sample(self, series: str, at: float, value: float) -> None:
        item = _item(f"samples#{series}", _time_key(at), at=at, value=value)
        self._client.put_item(TableName=self.table, Item=item)

    def samples(self, series: str, since: float = 0.0) -> list[tuple[float, float]]:
        if since >= LATEST_SAMPLE:
            return []
        items = self._query(f"samples#{series}", sk_from=_time_key(max(since, 0.0)))
        # The key is rounded to the nanosecond; compare the exact time stored beside it.
        pairs = ((float(i["at"]), float(i["value"])) for i in items)
        return [(at, value) for at, value in pairs if at >= since]

    # -- DynamoDB
    def _kv_item(self, namespace: str, key: str, value: Any, expires_at: float | None = None) -> dict[str, Any]:
        text = check_value(value)
        stored: dict[str, Any] = {"value": text}
        if len(text) > INLINE_VALUE_BYTES:
            stored = {"value_z": zlib.compress(text.encode())}
        if expires_at is not None:
            # A number of epoch seconds: the attribute a table's TTL setting can be pointed at.
            stored[TTL_ATTRIBUTE] = float(expires_at)
        return _item(f"kv#{namespace}", check_key(key), **stored, updated_at=time.time(), rev=uuid.uuid4().hex)

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        found = self._client.get_item(TableName=self.table, Key=_item(pk, sk), ConsistentRead=True).get("Item")
        return _plain(found) if found else None

    def _query(
        self, pk: str, sk_from: str | None = None, newest_first: bool = False, limit: int | None = None
    ) -> Iterator[dict[str, Any]]:
        """One partition's items in sort-key order, fetched a page at a time as they are consumed."""
        condition = "#pk = :pk"
        names = {"#pk": "pk"}
        values = {":pk": _serialize(pk)}
        if sk_from is not None:
            condition += " AND #sk >= :sk"
            names["#sk"] = "sk"
            values[":sk"] = _serialize(sk_from)
        page_sizes = [n for n in (self._page_size, limit) if n]
        pages = self._client.get_paginator("query").paginate(
            TableName=self.table,
            KeyConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ScanIndexForward=not newest_first,
            ConsistentRead=True,
            PaginationConfig={"PageSize": min(page_sizes)} if page_sizes else {},
        )
        for page in pages:
            for found in page["Items"]:
                yield _plain(found)


def _item(pk: str, sk: str, **attributes: Any) -> dict[str, Any]:
    plain = {"pk": pk, "sk": sk, **attributes}
    return {name: _serialize(_number(v) if isinstance(v, float) else v) for name, v in plain.items()}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserialize(value) for name, value in item.items()}


def _number(value: float) -> Decimal:
    if not math.isfinite(value):
        raise ValueError(f"DynamoDB stores finite numbers only, not {value}")
    return Decimal(repr(value))  # the shortest text that reads back as the same float


def _live(item: dict[str, Any]) -> bool:
    return TTL_ATTRIBUTE not in item or float(item[TTL_ATTRIBUTE]) > time.time()


def _stored(item: dict[str, Any]) -> Stored:
    return Stored(json.loads(_value_text(item)), float(item["updated_at"]))


def _time_key(at: float) -> str:
    """Seconds, zero-padded so that text order is time order."""
    if not 0 <= at < LATEST_SAMPLE:
        raise ValueError(f"sample times are seconds since 1970, below {LATEST_SAMPLE:.0e}; got {at}")
    return f"{at:021.9f}"


def _value_text(item: dict[str, Any]) -> str:
    if "value_z" in item:
        packed: Binary = item["value_z"]
        return zlib.decompress(packed.value).decode()
    return str(item["value"])


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
