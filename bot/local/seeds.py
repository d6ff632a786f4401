"""Demo resources created in moto for `opsbot demo` (never against a real account)."""

from __future__ import annotations

from bot.aws import AwsClients
from bot.local.aws import require_local


def seed_eb_environments(aws: AwsClients | None = None) -> None:
    """Two environments (one whose name ends in a digit), stopped and terminated instances, and an
    instance without a public address."""
    require_local()
    aws = aws or AwsClients()
    eb = aws.client("elasticbeanstalk")
    ec2 = aws.client("ec2")
    eb.create_application(ApplicationName="shop")
    stack = eb.list_available_solution_stacks()["SolutionStacks"][0]
    for name in ("shop-prod", "shop-prod-2", "shop-staging"):
        eb.create_environment(ApplicationName="shop", EnvironmentName=name, SolutionStackName=stack)

    def launch(env: str, count: int, public: bool = True) -> list[str]:
        tags = [{"ResourceType": "instance", "Tags": [{"Key": "elasticbeanstalk:environment-name", "Value": env}]}]
        kwargs: dict[str, object] = {}
        if not public:
            vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
            kwargs["NetworkInterfaces"] = [{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": False}]
        reply = ec2.run_instances(
            ImageId="ami-12c6146b",
            MinCount=count,
            MaxCount=count,
            InstanceType="t3.small",
            TagSpecifications=tags,
            **kwargs,
        )
        return [i["InstanceId"] for i in reply["Instances"]]

    launch("shop-prod", 2)
    launch("shop-prod", 1, public=False)
    stopped = launch("shop-prod", 1)
    ec2.stop_instances(InstanceIds=stopped)
    gone = launch("shop-prod", 1)
    ec2.terminate_instances(InstanceIds=gone)
    launch("shop-prod-2", 2)
