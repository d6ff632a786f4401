"""AWS through boto3 only: shared clients, one error translation, client-side request pacing."""

from bot.aws.clients import AwsClients
from bot.aws.errors import AWS_ERRORS, describe_aws_error, is_aws_error

__all__ = ["AWS_ERRORS", "AwsClients", "describe_aws_error", "is_aws_error"]
