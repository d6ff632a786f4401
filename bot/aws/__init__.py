"""AWS through boto3 only: shared clients, one error translation, client-side request pacing."""

from bot.aws.clients import AwsClients
from bot.aws.errors import describe_aws_error, is_aws_error

__all__ = ["AwsClients", "describe_aws_error", "is_aws_error"]
