"""Lambda functions for the demo's capacity scene, on moto: something worth pruning, and
something a careless prune would break (an alias with a routing weight, a mapped version).

`seed_demo_functions(aws)` builds it; `/lambda-capacity` then shows the storage and
`/lambda-capacity prune` a plan that must leave the aliased and mapped versions alone.
"""

from __future__ import annotations

import io
import random
import zipfile
from typing import Any

from bot.aws import AwsClients

KIB = 1024
ROLE_NAME = "opsbot-demo-lambda"
QUEUE_NAME = "opsbot-demo-orders"


def deployment_package(size: int, seed: int = 0) -> bytes:
    """A zip of about `size` bytes; stored, not deflated, so its size is predictable."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("handler.py", "def main(event, context):\n    return event\n")
        zf.writestr("vendor.bin", random.Random(seed).randbytes(max(0, size - 250)))
    return buf.getvalue()


class DemoAccount:
    """Creates functions with published versions and layers; returns the bytes each one stores."""

    def __init__(self, lam: Any, role_arn: str) -> None:
        self.lam = lam
        self.role_arn = role_arn

    def function(self, name: str, sizes: list[int], runtime: str = "python3.12") -> int:
        """Version i+1 gets a package of sizes[i]; $LATEST keeps the last one."""
        base = sum(map(ord, name)) * 1000
        packages = [deployment_package(size, seed=base + i) for i, size in enumerate(sizes)]
        self.lam.create_function(
            FunctionName=name,
            Runtime=runtime,
            Role=self.role_arn,
            Handler="handler.main",
            Code={"ZipFile": packages[0]},
            Publish=True,
        )
        for package in packages[1:]:
            self.lam.update_function_code(FunctionName=name, ZipFile=package)
            self.lam.publish_version(FunctionName=name)
        return sum(len(p) for p in packages) + len(packages[-1])

    def layer(self, name: str, sizes: list[int]) -> int:
        packages = [deployment_package(size, seed=i) for i, size in enumerate(sizes)]
        for package in packages:
            self.lam.publish_layer_version(
                LayerName=name, Content={"ZipFile": package}, CompatibleRuntimes=["python3.12"]
            )
        return sum(len(p) for p in packages)


def demo_account(aws: AwsClients, region: str | None = None) -> DemoAccount:
    iam = aws.client("iam", region)
    try:
        role = iam.get_role(RoleName=ROLE_NAME)["Role"]
    except iam.exceptions.NoSuchEntityException:
        role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument='{"Version": "2012-10-17"}')["Role"]
    return DemoAccount(aws.client("lambda", region), role["Arn"])


def seed_demo_functions(aws: AwsClients, region: str | None = None) -> None:
    """Five functions (28 published versions), a layer with three versions, two aliases, a mapping."""
    account = demo_account(aws, region)
    lam = account.lam
    if lam.list_functions(MaxItems=1).get("Functions"):
        return  # already seeded
    account.function("orders-api", [400 * KIB + 20 * KIB * i for i in range(8)])
    lam.create_alias(  # versions 6-8 are published but not promoted yet; 4 serves, 5 is the canary
        FunctionName="orders-api",
        Name="live",
        FunctionVersion="4",
        RoutingConfig={"AdditionalVersionWeights": {"5": 0.1}},
    )
    account.function("image-resizer", [1200 * KIB, 1300 * KIB, 1250 * KIB, 1400 * KIB, 1500 * KIB])
    sqs = aws.client("sqs", region)
    queue = sqs.create_queue(QueueName=QUEUE_NAME)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    resizer_v2 = lam.get_function(FunctionName="image-resizer", Qualifier="2")["Configuration"]["FunctionArn"]
    lam.create_event_source_mapping(EventSourceArn=queue_arn, FunctionName=resizer_v2, BatchSize=10)
    account.function("nightly-report", [150 * KIB] * 12)
    lam.create_alias(FunctionName="nightly-report", Name="prod", FunctionVersion="8")
    account.function("auth-edge", [90 * KIB, 95 * KIB])
    account.function("slack-notifier", [40 * KIB])
    account.layer("shared-deps", [700 * KIB, 750 * KIB, 800 * KIB])
