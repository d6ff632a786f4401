"""Code storage attribution: exact bytes on moto, paging and GetAccountSettings via Stubber,
the prune rules as pure functions, and the rate limit against a throttling stand-in."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from bench.capacity_scan import LambdaProxy
from bot.aws import AwsClients
from bot.aws.pacing import TokenBucket, pace_client
from bot.local.seeds_capacity import DemoAccount, demo_account
from commands.lambda_capacity.scan import scan_region
from commands.lambda_capacity.storage import (
    CodeStorageReport,
    FunctionReferences,
    FunctionStorage,
    PruneCandidate,
    VersionStorage,
    alias_versions,
    human_bytes,
    mapped_versions,
    prune_candidates,
)

REGION = "us-east-1"
ACCOUNT = "123456789012"


@pytest.fixture
def account(moto: str) -> DemoAccount:
    # A client of its own, so building the account is not paced by the shared clients' limiter.
    return demo_account(AwsClients(), REGION)


class StubbedAws(AwsClients):
    """AwsClients whose Lambda client is a Stubber-backed one."""

    def __init__(self, lam: Any) -> None:
        super().__init__(boto3.session.Session(region_name=REGION))
        self.lam = lam

    def client(self, service: str, region: str | None = None) -> Any:
        assert service == "lambda"
        return self.lam


# -- exact bytes on moto


def test_scan_counts_every_version_and_every_layer_version_to_the_byte(
    account: DemoAccount, aws_clients: AwsClients
) -> None:
    expected_functions = account.function("orders", [1000, 3000, 5000]) + account.function("tiny", [10])
    expected_layers = account.layer("deps", [2000, 2500])
    report = scan_region(aws_clients, REGION, now=0.0, rate=1000)

    assert report.function_bytes == expected_functions
    assert report.layer_bytes == expected_layers
    assert report.listed_bytes == expected_functions + expected_layers
    orders = next(f for f in report.functions if f.name == "orders")
    assert sorted(v.version for v in orders.versions) == ["$LATEST", "1", "2", "3"]
    assert [v.version for v in orders.published] == ["3", "2", "1"]
    assert [lv.version for lv in report.layers] == [2, 1]  # newest first, as Lambda lists them
    assert report.version_count == 6  # $LATEST and 3 published of orders, $LATEST and 1 of tiny


def test_without_get_account_settings_the_report_says_so_and_uses_the_listed_total(
    account: DemoAccount, aws_clients: AwsClients
) -> None:
    stored = account.function("api", [400])
    report = scan_region(aws_clients, REGION, now=0.0, rate=1000)
    assert report.account is None
    assert report.usage_bytes == stored
    assert report.percent is None and report.unexplained_bytes is None
    assert "does not implement GetAccountSettings (HTTP 404, as on moto)" in report.account_note


def test_known_layer_sizes_are_not_read_again(account: DemoAccount, aws_clients: AwsClients) -> None:
    account.layer("deps", [100, 200])
    first = scan_region(aws_clients, REGION, now=0.0, rate=1000)
    again = scan_region(
        aws_clients, REGION, now=0.0, rate=1000, known_layer_sizes={lv.arn: lv.code_size for lv in first.layers}
    )
    assert again.layers == first.layers
    assert again.calls == first.calls - 2  # two GetLayerVersion calls fewer


def test_the_estimate_reads_aliases_of_the_functions_with_most_to_free_first(
    account: DemoAccount, aws_clients: AwsClients
) -> None:
    account.function("big", [5000, 5000, 5000])
    account.function("small", [100, 100, 100])
    account.lam.create_alias(FunctionName="small", Name="live", FunctionVersion="1")
    report = scan_region(aws_clients, REGION, now=0.0, rate=1000, keep=1, alias_budget=1)
    assert report.references["big"].aliases_read and not report.references["small"].aliases_read
    assert {(c.function, c.version) for c in report.prune_candidates() or []} == {("big", "2"), ("big", "1")}
    # unread aliases make an upper bound: small:1 is in it although an alias holds it
    assert {(c.function, c.version) for c in report.prune_candidates(aliases_read=False) or []} == {
        ("small", "2"),
        ("small", "1"),
    }
    exact = scan_region(aws_clients, REGION, now=0.0, rate=1000, keep=1)
    assert [(c.function, c.version) for c in exact.prune_candidates() or [] if c.function == "small"] == [
        ("small", "2")
    ]


# -- GetAccountSettings and paging, via Stubber


def _version(name: str, version: str, size: int, package: str = "Zip") -> dict[str, Any]:
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}:{version}"
    return {"FunctionName": name, "FunctionArn": arn, "Version": version, "CodeSize": size, "PackageType": package}


@pytest.fixture
def stubbed() -> Iterator[tuple[StubbedAws, Stubber]]:
    # Built as the bot builds its clients, so errors name the IAM action as they do in production.
    lam = AwsClients(boto3.session.Session(region_name=REGION)).client("lambda")
    with Stubber(lam) as stubber:
        yield StubbedAws(lam), stubber
        stubber.assert_no_pending_responses()


def test_multi_page_listing_is_followed_with_fifty_versions_a_page(stubbed: tuple[StubbedAws, Stubber]) -> None:
    aws, stub = stubbed
    page1 = [_version(f"fn-{i:02d}", v, 100) for i in range(25) for v in ("$LATEST", "1")]
    page2 = [_version(f"fn-{i:02d}", "2", 300) for i in range(25)] + [_version("img", "$LATEST", 0, "Image")]
    stub.add_response(
        "get_account_settings",
        {
            "AccountLimit": {"TotalCodeSize": 80_530_636_800},
            "AccountUsage": {"TotalCodeSize": 20_000, "FunctionCount": 26},
        },
    )
    stub.add_response(
        "list_functions", {"Functions": page1, "NextMarker": "m1"}, {"FunctionVersion": "ALL", "MaxItems": 50}
    )
    stub.add_response(
        "list_functions", {"Functions": page2}, {"FunctionVersion": "ALL", "MaxItems": 50, "Marker": "m1"}
    )
    stub.add_response("list_layers", {"Layers": []}, {"MaxItems": 50})
    seen: list[str] = []

    report = scan_region(aws, REGION, now=0.0, progress=seen.append)

    assert seen[:2] == ["Scanned 50 versions (1 page)…", "Scanned 76 versions (2 pages)…"]
    assert len(report.functions) == 26
    assert report.function_bytes == 25 * (100 + 100 + 300)  # the image function stores no code
    assert report.version_count == 75
    assert report.calls == 4
    assert report.account is not None
    assert report.usage_bytes == 20_000 and report.limit_bytes == 80_530_636_800
    assert report.unexplained_bytes == 20_000 - 12_500
    assert report.function_count == 26
    assert human_bytes(report.limit_bytes) == "75.0 GiB"


def test_a_denied_get_account_settings_is_named_and_the_scan_goes_on(stubbed: tuple[StubbedAws, Stubber]) -> None:
    aws, stub = stubbed
    stub.add_client_error("get_account_settings", "AccessDeniedException", "User is not authorized", 403)
    stub.add_response("list_functions", {"Functions": [_version("a", "$LATEST", 7)]})
    stub.add_response("list_layers", {"Layers": []})
    report = scan_region(aws, REGION, now=0.0)
    assert report.usage_bytes == 7
    assert "lacks the IAM permission lambda:GetAccountSettings" in report.account_note


# -- the prune rules (pure)


def _fn(name: str, versions: int, size: int = 10) -> FunctionStorage:
    found = [VersionStorage("$LATEST", size)] + [VersionStorage(str(v), size) for v in range(1, versions + 1)]
    return FunctionStorage(name, tuple(found))


def test_only_versions_beyond_the_newest_k_are_candidates_and_never_latest() -> None:
    candidates = prune_candidates(_fn("f", 6), FunctionReferences(), keep=3)
    assert [c.version for c in candidates] == ["3", "2", "1"]
    assert prune_candidates(_fn("f", 3), FunctionReferences(), keep=3) == []
    assert all(c.version != "$LATEST" for c in prune_candidates(_fn("f", 4), FunctionReferences(), keep=1))


def test_versions_are_ordered_by_number_not_text() -> None:
    candidates = prune_candidates(_fn("f", 12), FunctionReferences(), keep=3)
    assert [c.version for c in candidates][:2] == ["9", "8"]  # "10", "11", "12" are the newest


def test_aliased_versions_are_kept_including_routing_weights() -> None:
    aliases = [
        {"Name": "live", "FunctionVersion": "2", "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.1}}},
        {"Name": "dev", "FunctionVersion": "$LATEST"},
    ]
    refs = FunctionReferences(aliased=alias_versions(aliases))
    assert refs.aliased == frozenset({"1", "2"})
    assert [c.version for c in prune_candidates(_fn("f", 6), refs, keep=3)] == ["3"]


def test_versions_an_event_source_mapping_invokes_are_kept() -> None:
    arns = [
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:2",
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:f:live",  # an alias: kept through the alias
        f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:g",  # unqualified: $LATEST
    ]
    mapped = mapped_versions(arns)
    assert mapped == {"f": frozenset({"2"})}
    refs = FunctionReferences(mapped=mapped["f"])
    assert [c.version for c in prune_candidates(_fn("f", 5), refs, keep=2)] == ["3", "1"]


def test_container_image_functions_are_never_candidates() -> None:
    image = FunctionStorage(
        "img", (VersionStorage("$LATEST", 0), *(VersionStorage(str(v), 0) for v in range(1, 9))), "Image"
    )
    assert prune_candidates(image, FunctionReferences(), keep=1) == []
    assert image.code_bytes == 0


def test_report_survives_the_cache_round_trip() -> None:
    report = CodeStorageReport(
        region=REGION,
        scanned_at=1700000000.0,
        functions=(_fn("f", 5, 100),),
        layers=(),
        account=None,
        account_note="Quota unknown",
        calls=3,
        keep=2,
        references={"f": FunctionReferences(frozenset({"1"}), frozenset({"2"}))},
    )
    again = CodeStorageReport.from_json(report.to_json())
    assert again == report
    assert again.prune_candidates() == [PruneCandidate("f", "3", 100)]


def test_human_bytes_are_binary_units() -> None:
    assert [human_bytes(n) for n in (512, 1536, 5 * 2**20, 75 * 2**30, -3 * 2**20)] == [
        "512 B",
        "1.5 KiB",
        "5.0 MiB",
        "75.0 GiB",
        "-3.0 MiB",
    ]


# -- the rate limit


def test_token_bucket_spaces_calls_at_the_rate() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(10, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert now[0] == pytest.approx(0.4)  # the first is free, then one every 100 ms
    assert slept == pytest.approx([0.1, 0.1, 0.1, 0.1])


def test_token_bucket_holds_the_rate_across_threads() -> None:
    bucket = TokenBucket(100)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(10):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stamps.sort()
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) <= 100 * 1.05


def test_a_client_is_paced_once_however_often_it_is_asked() -> None:
    client = boto3.client("lambda", region_name=REGION)
    calls: list[int] = []

    class Counting(TokenBucket):
        def acquire(self) -> float:
            calls.append(1)
            return 0.0

    bucket = Counting(1)
    pace_client(client, bucket)
    pace_client(client, bucket)
    # botocore emits before-send once per HTTP attempt; emit it the same way
    client.meta.events.emit("before-send.lambda.ListFunctions", request=None)
    assert calls == [1]

    invoking = boto3.client("lambda", region_name=REGION)
    pace_client(invoking, bucket, exempt={"Invoke"})
    invoking.meta.events.emit("before-send.lambda.Invoke", request=None)
    invoking.meta.events.emit("before-send.lambda.ListAliases", request=None)
    assert calls == [1, 1]


@pytest.fixture
def throttling_lambda(moto: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[LambdaProxy, AwsClients]]:
    """Lambda behind a proxy that answers 429 TooManyRequestsException above 8 requests a second."""
    port = int(moto.rsplit(":", 1)[1])
    with LambdaProxy(port, quota=8) as proxy:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", proxy.url)
        yield proxy, AwsClients()  # fresh clients: they read the endpoint when built


def test_throttled_scan_is_retried_and_the_result_is_exact(
    account: DemoAccount, throttling_lambda: tuple[LambdaProxy, AwsClients]
) -> None:
    proxy, aws = throttling_lambda
    expected = sum(account.function(f"fn-{i}", [100 + i, 200]) for i in range(12))
    report = scan_region(aws, REGION, now=0.0, rate=1000, keep=1)  # no client limit: AWS pushes back
    assert proxy.throttled > 0
    assert report.listed_bytes == expected


def test_the_limiter_keeps_the_request_rate_at_the_configured_rate(
    account: DemoAccount, throttling_lambda: tuple[LambdaProxy, AwsClients]
) -> None:
    proxy, aws = throttling_lambda
    for i in range(12):
        account.function(f"fn-{i}", [100, 200])
    proxy.reset_counts()
    report = scan_region(aws, REGION, now=0.0, rate=7, keep=1)  # 12 ListAliases + 4 more calls
    stamps = proxy.arrivals
    assert report.calls == len(stamps) >= 16
    assert proxy.throttled == 0
    assert (len(stamps) - 1) / (stamps[-1] - stamps[0]) <= 7 * 1.05
    assert max(sum(1 for s in stamps if t <= s < t + 1.0) for t in stamps) <= 8
