"""What a user of /eb-ip (and of its HTTP route) reads when AWS, or what stands in its place, fails:
a real command through run_command, against a loopback server, a closed port or a stubbed shared client."""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bot.aws import AwsClients
from bot.aws.clients import RETRY_CONFIG
from bot.command import CommandContext, run_command
from bot.http import route_request
from bot.runtime import Runtime
from bot.settings import Settings
from bot.state import Store
from bot.tokens import issue_token
from commands import COMMANDS
from commands.eb_ip import COMMAND

NOT_AWS = "AWS answered something that is not an AWS response ({what}); check AWS_ENDPOINT_URL and any proxy."
THROTTLED = (
    b"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
    b"</Error></Errors><RequestID>r-1</RequestID></Response>"
)


class Answer(http.server.BaseHTTPRequestHandler):
    """Answers every request with the server's `status` and `body`, counting them."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server: FakeEndpoint = self.server  # type: ignore[assignment]
        server.requests += 1
        self.send_response(server.status)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Content-Length", str(len(server.body)))
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *_: object) -> None:
        pass


class FakeEndpoint(http.server.ThreadingHTTPServer):
    status, body, content_type, requests = 500, b"", "text/html", 0


@pytest.fixture
def endpoint() -> Iterator[FakeEndpoint]:
    server = FakeEndpoint(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def clients_for(monkeypatch: pytest.MonkeyPatch, url: str, attempts: int = 1) -> AwsClients:
    """Clients of their own, at `url`: boto3 reads AWS_ENDPOINT_URL as each client is built."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    return AwsClients(config=RETRY_CONFIG.merge(Config(retries={"mode": "adaptive", "max_attempts": attempts})))


def eb_ip(aws: AwsClients, settings: Settings, store: Store, text: str = "my-env-2 1") -> str:
    reply = run_command(COMMAND, text, CommandContext(settings, aws, store, user_id="UUSER01", channel_id="CCHAN01"))
    assert not reply.ok and not reply.public
    return reply.text


@pytest.mark.parametrize(
    ("status", "what"), [(500, "HTTP 500 from a proxy?"), (502, "HTTP 502 from a proxy?"), (200, "a proxy's page?")]
)
def test_an_html_page_instead_of_aws_is_one_sentence_in_the_command_and_a_502_on_the_route(
    monkeypatch: pytest.MonkeyPatch, endpoint: FakeEndpoint, settings: Settings, store: Store, status: int, what: str
) -> None:
    endpoint.status, endpoint.body = status, b"<html><body><h1>Proxy Error</h1><p>upstream & co</p></body></html>"
    aws = clients_for(monkeypatch, f"http://127.0.0.1:{endpoint.server_port}")

    assert eb_ip(aws, settings, store) == NOT_AWS.format(what=what)
    route = route_request(Runtime(settings, aws, store), COMMANDS, "GET", "/eb/my-env-2/ip/1", (
        f"Bearer {issue_token(store, 'UUSER01')}"))  # fmt: skip
    assert (route.status, route.body) == (502, NOT_AWS.format(what=what) + "\n")
    assert endpoint.requests == (4 if status >= 500 else 2)  # 5xx: retried once (max_attempts=1)


@pytest.mark.parametrize(
    ("content_type", "page"),
    [
        ("text/html", b"<html><head><title>Sign in</title></head><body><p>Hotel Wi-Fi</p></body></html>"),
        ("text/xml", b"<!DOCTYPE html>\n<html><body><p>Hotel Wi-Fi</p></body></html>"),
    ],
)
def test_a_well_formed_html_page_answered_with_200_is_the_same_sentence(
    monkeypatch: pytest.MonkeyPatch,
    endpoint: FakeEndpoint,
    settings: Settings,
    store: Store,
    content_type: str,
    page: bytes,
) -> None:
    # A captive portal's page parses as XML: botocore returns an answer with nothing in it, no error.
    endpoint.status, endpoint.body, endpoint.content_type = 200, page, content_type
    aws = clients_for(monkeypatch, f"http://127.0.0.1:{endpoint.server_port}")
    assert eb_ip(aws, settings, store) == NOT_AWS.format(what="a proxy's page?")


def test_throttling_past_the_retries_names_the_call(
    monkeypatch: pytest.MonkeyPatch, endpoint: FakeEndpoint, settings: Settings, store: Store
) -> None:
    endpoint.status, endpoint.body, endpoint.content_type = 503, THROTTLED, "text/xml"
    aws = clients_for(monkeypatch, f"http://127.0.0.1:{endpoint.server_port}", attempts=2)
    assert eb_ip(aws, settings, store) == "AWS is throttling ec2:DescribeInstances; try again in a minute."
    assert endpoint.requests == 3  # the first try and max_attempts (2) retries, then botocore gave up


def test_an_unreachable_endpoint_names_it(monkeypatch: pytest.MonkeyPatch, settings: Settings, store: Store) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    aws = clients_for(monkeypatch, f"http://127.0.0.1:{port}")
    assert eb_ip(aws, settings, store) == (
        f"Could not reach the AWS endpoint http://127.0.0.1:{port}/; check the network or AWS_ENDPOINT_URL."
    )


def test_a_profile_that_does_not_exist_is_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, settings: Settings, store: Store
) -> None:
    (tmp_path / "config").write_text("[profile other]\nregion = eu-west-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "nope")
    aws = AwsClients()  # the bot starts; the command that needs AWS says why it cannot
    assert eb_ip(aws, settings, store) == "AWS profile not found: nope (check AWS_PROFILE)."


@pytest.mark.parametrize(
    ("operation", "code", "message", "text", "reply"),
    [
        (
            "describe_environments",
            "AccessDenied",
            "User: arn:aws:sts::123456789012:assumed-role/opsbot/bot is not authorized to perform: "
            "ec2:DescribeInstances on resource: arn:aws:ec2:us-east-1:123456789012:instance/* "
            "because no identity-based policy allows the ec2:DescribeInstances action",
            "",
            "Access denied: the bot's AWS role lacks the IAM permission ec2:DescribeInstances.",
        ),
        (
            "describe_environments",
            "AccessDenied",
            "Access Denied",
            "",
            "Access denied: the bot's AWS role lacks the IAM permission elasticbeanstalk:DescribeEnvironments.",
        ),
        (
            "describe_instances",
            "ExpiredToken",
            "The security token included in the request is expired",
            "my-env-2 1",
            "The bot's AWS credentials are invalid or expired.",
        ),
    ],
)
def test_aws_refusals_reach_the_user_as_one_sentence(
    aws_clients: AwsClients, settings: Settings, store: Store, moto: str,
    operation: str, code: str, message: str, text: str, reply: str,
) -> None:  # fmt: skip
    service = "elasticbeanstalk" if operation == "describe_environments" else "ec2"
    with Stubber(aws_clients.client(service)) as stub:  # the shared client, as the command uses it
        stub.add_client_error(operation, service_error_code=code, service_message=message)
        assert eb_ip(aws_clients, settings, store, text) == reply
