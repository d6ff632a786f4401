"""The running instances of an environment or Auto Scaling group, oldest first, read from EC2 tags."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.aws import AwsClients
from bot.command import CommandError
from bot.text import plural

EB_TAG = "elasticbeanstalk:environment-name"
ASG_TAG = "aws:autoscaling:groupName"


@dataclass(frozen=True)
class Instance:
    id: str
    public_ip: str | None
    private_ip: str | None
    launched_at: datetime  # aware
    az: str

    @property
    def address(self) -> str:
        return self.public_ip or self.private_ip or ""


@dataclass(frozen=True)
class EnvironmentInstances:
    name: str
    region: str
    asg: bool
    instances: tuple[Instance, ...]  # running, oldest first

    @property
    def label(self) -> str:
        return f"Auto Scaling group {self.name}" if self.asg else self.name

    def nth(self, n: int) -> Instance:
        if not 1 <= n <= len(self.instances):
            count = plural(len(self.instances), "running instance")
            raise CommandError(f"{self.label} has {count} in {self.region}; there is no #{n}.")
        return self.instances[n - 1]


@dataclass(frozen=True)
class EnvironmentSummary:
    name: str
    status: str
    health: str
    instances: int


def oldest_first(instances: Iterable[Instance]) -> tuple[Instance, ...]:
    """Launch time, then instance id; duplicates (pages can overlap while instances change) dropped."""
    unique = {i.id: i for i in instances}
    return tuple(sorted(unique.values(), key=lambda i: (i.launched_at, i.id)))


def instance_from(raw: Mapping[str, Any]) -> Instance:
    launched: datetime = raw["LaunchTime"]
    return Instance(
        id=raw["InstanceId"],
        public_ip=raw.get("PublicIpAddress") or None,
        private_ip=raw.get("PrivateIpAddress") or None,
        launched_at=launched if launched.tzinfo else launched.replace(tzinfo=UTC),
        az=raw.get("Placement", {}).get("AvailabilityZone", ""),
    )


def _tag(raw: Mapping[str, Any], key: str) -> str | None:
    return next((t.get("Value") for t in raw.get("Tags", []) if t.get("Key") == key), None)


def _running(ec2: Any, filters: list[dict[str, Any]]) -> Iterable[Mapping[str, Any]]:
    filters = [*filters, {"Name": "instance-state-name", "Values": ["running"]}]
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for reservation in page.get("Reservations", []):
            yield from reservation.get("Instances", [])


def running_instances(ec2: Any, tag_key: str, value: str) -> tuple[Instance, ...]:
    return oldest_first(instance_from(raw) for raw in _running(ec2, [{"Name": f"tag:{tag_key}", "Values": [value]}]))


def find_instances(aws: AwsClients, name: str, *, asg: bool = False, region: str | None = None) -> EnvironmentInstances:
    """The running instances, or a CommandError that tells unknown names from empty ones."""
    where = region or aws.default_region or "the default region"
    found = running_instances(aws.client("ec2", region), ASG_TAG if asg else EB_TAG, name)
    if found:
        return EnvironmentInstances(name, where, asg, found)
    if asg:
        groups = aws.client("autoscaling", region).describe_auto_scaling_groups(AutoScalingGroupNames=[name])
        if not groups.get("AutoScalingGroups"):
            raise CommandError(f"There is no Auto Scaling group called {name} in {where}.")
        raise CommandError(f"Auto Scaling group {name} has no running instance in {where}.")
    envs = aws.client("elasticbeanstalk", region).describe_environments(EnvironmentNames=[name], IncludeDeleted=False)
    env = next((e for e in envs.get("Environments", []) if _is_live(e) and e.get("EnvironmentName") == name), None)
    if env is None:
        raise CommandError(f"There is no Elastic Beanstalk environment called {name} in {where}; `/eb-ip` lists them.")
    raise CommandError(f"Environment {name} has no running instance in {where} (status {env.get('Status', '?')}).")


def list_environments(aws: AwsClients, region: str | None = None) -> list[EnvironmentSummary]:
    pages = aws.client("elasticbeanstalk", region).get_paginator("describe_environments").paginate(IncludeDeleted=False)
    envs = [e for page in pages for e in page.get("Environments", []) if _is_live(e)]
    tagged = _running(aws.client("ec2", region), [{"Name": "tag-key", "Values": [EB_TAG]}])
    counts = Counter(_tag(raw, EB_TAG) for raw in tagged)
    envs.sort(key=lambda e: str(e["EnvironmentName"]).lower())
    return [
        EnvironmentSummary(e["EnvironmentName"], e.get("Status", "?"), _health(e), counts[e["EnvironmentName"]])
        for e in envs
    ]


def _is_live(env: Mapping[str, Any]) -> bool:
    return env.get("Status") != "Terminated"


def _health(env: Mapping[str, Any]) -> str:
    color, status = env.get("Health", ""), env.get("HealthStatus", "")
    return f"{color} ({status})" if color and status else color or status or "?"
