"""AWS errors, translated once, into one sentence a user can act on (never a stack trace)."""

from __future__ import annotations

import re
from typing import Any

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
from botocore.parsers import ResponseParserError

# Everything boto3 raises for a call that failed: botocore's parsers raise their own errors, outside
# its exception hierarchy, when something between us and AWS answers with a body that is not AWS's.
AWS_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

_THROTTLE_CODES = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
}
_DENIED_CODES = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthFailure"}
_EXPIRED_CODES = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "InvalidClientTokenId"}


_ACTION_IN_MESSAGE = re.compile(r"perform:? ([a-z0-9-]+:[A-Za-z0-9]+)")
# Where a client built by AwsClients writes its service on an error response it is about to raise:
# ClientError carries only the operation's name, and many services share names (TagResource,
# DescribeTags, ListTagsForResource), so the name alone cannot say whose IAM action is missing.
_SERVICE_KEY = "OpsbotService"


class RoleNotAssumed(BotoCoreError):
    """sts:AssumeRole into a configured account failed; `error` is AWS's ClientError."""

    fmt = "Could not assume the role {role_arn}"


def _role_not_assumed(exc: RoleNotAssumed) -> str:
    role, error = exc.kwargs["role_arn"], exc.kwargs["error"]
    code = re.sub(r"[^A-Za-z]", "", str(error.response.get("Error", {}).get("Code", "")))[:60]
    if code in _DENIED_CODES:
        named = _ACTION_IN_MESSAGE.search(str(error.response.get("Error", {}).get("Message", "")))
        action = named.group(1) if named and named.group(1).startswith("sts:") else "sts:AssumeRole"
        return (
            f"Cannot assume the role {role}: its trust policy does not let the bot's role {action} "
            f"(with this external ID and a `slack-` source identity), or the bot's own IAM policy does not allow "
            f"{action} on it."
        )
    if code in _EXPIRED_CODES:
        return f"Cannot assume the role {role}: the bot's own AWS credentials are invalid or expired."
    if code in _THROTTLE_CODES:
        return f"AWS is throttling sts:AssumeRole on the role {role}; try again in a minute."
    return f"Cannot assume the role {role}: AWS STS answered {code or 'an error'}."


def name_service_on_errors(client: Any) -> None:
    """Mark each error response `client` raises with the client's service (its IAM prefix)."""
    model = client.meta.service_model
    service = model.service_name

    # botocore emits after-call for every response, errors included, just before raising
    # ClientError(parsed, ...): the exception's `response` is this same dict.
    def mark(http_response: Any = None, parsed: Any = None, **_kwargs: Any) -> None:
        if getattr(http_response, "status_code", 200) >= 300 and isinstance(parsed, dict):
            parsed[_SERVICE_KEY] = service

    client.meta.events.register(
        f"after-call.{model.service_id.hyphenize()}", mark, unique_id=f"opsbot-service-{id(client)}"
    )


_HTML_START = re.compile(rb"\s*<(!doctype\s+html|html)[\s>]", re.IGNORECASE)


def refuse_html_pages(client: Any) -> None:
    """A 2xx HTML page (a captive portal, a proxy's login page) raises ResponseParserError, as one
    the parser cannot read does: a well-formed page parses as XML into an answer with nothing in it."""

    def check(http_response: Any = None, model: Any = None, **_kwargs: Any) -> None:
        if model is None or getattr(http_response, "raw", None) is None or http_response.status_code >= 300:
            return  # no answer, or a Stubber's, which has no body
        output = model.output_shape
        if model.has_streaming_output or (output is not None and output.serialization.get("payload")):
            return  # the body is the caller's data (an S3 object, a function's answer), whatever it holds
        # The body, not the Content-Type: moto (and some AWS answers without a body) say text/html.
        if _HTML_START.match(http_response.content[:1024]):
            raise ResponseParserError("an HTML page where an AWS response was expected")

    service_id = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"after-call.{service_id}", check, unique_id=f"opsbot-html-{id(client)}")


def iam_action(exc: ClientError) -> str:
    """The IAM action behind a failed call, e.g. 'ec2:DescribeInstances'."""
    message = str(exc.response.get("Error", {}).get("Message", ""))
    # AWS usually names it: "... is not authorized to perform: ec2:DescribeInstances on ..."
    named = _ACTION_IN_MESSAGE.search(message)
    if named:
        return named.group(1)
    op = exc.operation_name or "?"
    service = exc.response.get(_SERVICE_KEY)
    return f"{service}:{op}" if service else op


def _not_aws(what: str) -> str:
    return f"AWS answered something that is not an AWS response ({what}); check AWS_ENDPOINT_URL and any proxy."


def describe_aws_error(exc: BaseException) -> str:
    """One clear sentence for a user, never a stack trace."""
    if isinstance(exc, ResponseParserError):
        return _not_aws("a proxy's page?")
    if isinstance(exc, RoleNotAssumed):
        return _role_not_assumed(exc)
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
        if code.isdigit():  # botocore's code for a body it could not read as an AWS error: the HTTP status
            return _not_aws(f"HTTP {code} from a proxy?")
        action = iam_action(exc)
        if code in _DENIED_CODES:
            return f"Access denied: the bot's AWS role lacks the IAM permission {action}."
        if code in _THROTTLE_CODES:
            return f"AWS is throttling {action}; try again in a minute."
        if code in _EXPIRED_CODES:
            return "The bot's AWS credentials are invalid or expired."
        logs = _logs_error(exc, code)
        if logs:
            return logs
        message = str(error.get("Message") or code or "unknown error")
        return f"AWS refused {action}: {message}"
    if isinstance(exc, BotoCoreError):
        return f"AWS client error: {exc}"
    return "Unexpected error."


def _logs_error(exc: ClientError, code: str) -> str:
    """CloudWatch Logs' two refusals a user causes. Its messages may quote the user's filter
    pattern, so they are not passed on (user text is echoed only through bot.text.shown)."""
    if exc.response.get(_SERVICE_KEY) != "logs":
        return ""
    if code == "ResourceNotFoundException":
        return "CloudWatch Logs has no such log group in that region; check the name and --region."
    if code == "InvalidParameterException" and exc.operation_name in ("FilterLogEvents", "StartLiveTail"):
        return (
            "CloudWatch Logs rejected the filter pattern; see "
            "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html"
        )
    return ""


def is_aws_error(exc: BaseException) -> bool:
    return isinstance(exc, AWS_ERRORS)
