"""The one seam to AWS: a shared boto3 session, clients built once and reused, errors translated once.

boto3 reads its own configuration (AWS_PROFILE, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, config
files); we only add adaptive retries. Building a client costs hundreds of milliseconds of CPU,
and clients are thread-safe, so each (service, region) is built once per process.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    ReadTimeoutError,
)

# The pool must hold as many connections as threads may call at once (OPSBOT_WORKER_THREADS plus
# HTTP routes); botocore's default of 10 would open and drop a TLS connection per extra call.
RETRY_CONFIG = Config(
    retries={"mode": "adaptive", "max_attempts": 8},
    connect_timeout=5,
    read_timeout=30,
    max_pool_connections=100,
)

_THROTTLE_CODES = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded"}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure"}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}


_ACTION_IN_MESSAGE = re.compile(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")
# Filled as clients are built: operation name -> IAM service prefix (boto3's service name).
_SERVICE_OF_OPERATION: dict[str, str] = {}


class AwsClients:
    """Builds each boto3 client once per (service, region) and hands out the same one after."""

    def __init__(self, session: boto3.session.Session | None = None, config: Config = RETRY_CONFIG) -> None:
        self._session = session or boto3.session.Session()
        self._config = config
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    @property
    def default_region(self) -> str | None:
        return self._session.region_name

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self._session.region_name)
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                # Session.client is not thread-safe; building under the lock also builds once.
                client = self._session.client(service, region_name=key[1], config=self._config)
                self._clients[key] = client
                for op in client.meta.service_model.operation_names:
                    _SERVICE_OF_OPERATION.setdefault(op, service)
            return client

    def regions(self, service: str) -> list[str]:
        return sorted(self._session.get_available_regions(service))


def iam_action(exc: ClientError) -> str:
    """The IAM action behind a failed call, e.g. 'ec2:DescribeInstances'."""
    message = str(exc.response.get("Error", {}).get("Message", ""))
    # AWS usually names it: "... is not authorized to perform: ec2:DescribeInstances on ..."
    named = _ACTION_IN_MESSAGE.search(message)
    if named:
        return named.group(1)
    op = exc.operation_name or "?"
    service = _SERVICE_OF_OPERATION.get(op)
    return f"{service}:{op}" if service else op


def describe_aws_error(exc: BaseException) -> str:
    """One clear sentence for a user, never a stack trace."""
    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return (
            "AWS credentials are missing: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
            "or give the bot an IAM role."
        )
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile not found: {exc.kwargs.get('profile')} (check AWS_PROFILE)."
    if isinstance(exc, NoRegionError):
        return "No AWS region is configured: set AWS_DEFAULT_REGION or pass --region."
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        endpoint = exc.kwargs.get("endpoint_url", "")
        return f"Could not reach the AWS endpoint {endpoint}; check the network or AWS_ENDPOINT_URL."
    if isinstance(exc, ReadTimeoutError):
        return "AWS did not answer in time; try again in a minute."
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        action = iam_action(exc)
        if code in _DENIED_CODES:
            return f"Access denied: the bot's AWS role lacks the IAM permission {action}."
        if code in _THROTTLE_CODES:
            return f"AWS is throttling {action}; try again in a minute."
        if code in _EXPIRED_CODES:
            return "The bot's AWS credentials are invalid or expired."
        message = str(error.get("Message") or code or "unknown error")
        return f"AWS refused {action}: {message}"
    if isinstance(exc, BotoCoreError):
        return f"AWS client error: {exc}"
    return "Unexpected error."


def is_aws_error(exc: BaseException) -> bool:
    return isinstance(exc, ClientError | BotoCoreError)
