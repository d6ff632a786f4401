"""`opsbot logs subscribe|unsubscribe`: the forwarder's two setup steps, safe to run twice.

Subscribe: the Lambda permission for `logs.<region>.amazonaws.com` to invoke the destination
(for this log group's ARN only), then the subscription filter. CloudWatch allows two filters a
group; a group with two others is refused before anything changes. Unsubscribe undoes both.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

FILTER_NAME = "opsbot-forwarder"
MAX_FILTERS = 2
_LAMBDA_ARN = re.compile(r"arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):(?P<account>[0-9]{12}):function:[A-Za-z0-9_-]+")


class SubscribeError(RuntimeError):
    """One line for the terminal."""


@dataclass(frozen=True)
class Subscription:
    log_group: str
    destination_arn: str
    filter_pattern: str = ""


def statement_id(log_group: str) -> str:
    return "opsbot-logs-" + re.sub(r"[^A-Za-z0-9_-]", "-", log_group.strip("/"))[:80]


def _region(destination_arn: str) -> str:
    found = _LAMBDA_ARN.fullmatch(destination_arn)
    if not found:
        raise SubscribeError(f"--destination-arn must be a Lambda function ARN, not {destination_arn!r}")
    return found["region"]


def _group_arn(logs: Any, log_group: str) -> str:
    for page in logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=log_group):
        for group in page.get("logGroups", ()):
            if group["logGroupName"] == log_group:
                return str(group["arn"]).removesuffix(":*")
        break
    raise SubscribeError(f"there is no log group {log_group!r} in {logs.meta.region_name}")


def _statements(lam: Any, function_arn: str) -> set[str]:
    """The statement ids of the function's resource policy (none: no policy yet)."""
    try:
        policy = json.loads(lam.get_policy(FunctionName=function_arn)["Policy"])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return set()
    return {str(statement.get("Sid")) for statement in policy.get("Statement", ())}


def subscribe(aws: Any, sub: Subscription) -> list[str]:
    """What was done, one line each."""
    region = _region(sub.destination_arn)
    logs, lam = aws.client("logs", region), aws.client("lambda", region)
    group_arn = _group_arn(logs, sub.log_group)
    filters = logs.describe_subscription_filters(logGroupName=sub.log_group)["subscriptionFilters"]
    others = [f["filterName"] for f in filters if f["filterName"] != FILTER_NAME]
    if len(others) >= MAX_FILTERS:
        raise SubscribeError(
            f"{sub.log_group} already has {MAX_FILTERS} subscription filters ({', '.join(others)}), "
            "CloudWatch's limit; remove one first"
        )
    done = []
    sid = statement_id(sub.log_group)
    if sid in _statements(lam, sub.destination_arn):
        done.append("the Lambda permission was already there")
    else:
        lam.add_permission(
            FunctionName=sub.destination_arn,
            StatementId=sid,
            Action="lambda:InvokeFunction",
            Principal=f"logs.{region}.amazonaws.com",
            SourceArn=f"{group_arn}:*",
        )
        done.append(f"allowed CloudWatch Logs to invoke {sub.destination_arn} for {sub.log_group}")
    logs.put_subscription_filter(
        logGroupName=sub.log_group,
        filterName=FILTER_NAME,
        filterPattern=sub.filter_pattern,
        destinationArn=sub.destination_arn,
    )
    done.append(f"subscription filter {FILTER_NAME} on {sub.log_group} → {sub.destination_arn}")
    return done


def unsubscribe(aws: Any, log_group: str, destination_arn: str) -> list[str]:
    region = _region(destination_arn)
    logs, lam = aws.client("logs", region), aws.client("lambda", region)
    done = []
    filters = logs.describe_subscription_filters(logGroupName=log_group)["subscriptionFilters"]
    if any(f["filterName"] == FILTER_NAME for f in filters):
        logs.delete_subscription_filter(logGroupName=log_group, filterName=FILTER_NAME)
        done.append(f"removed subscription filter {FILTER_NAME} from {log_group}")
    try:
        lam.remove_permission(FunctionName=destination_arn, StatementId=statement_id(log_group))
        done.append(f"removed the Lambda permission for {log_group}")
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    return done or ["nothing to undo"]
