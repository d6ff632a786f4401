"""The Lambda entry point serves the same app: a signed slash command acks within the request,
the lazy half comes back as an asynchronous self-invocation, and the reply reaches Slack."""

from __future__ import annotations

import json
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

import pytest
from botocore.stub import ANY, Stubber
from slack_sdk.signature import SignatureVerifier

from bot import lambda_handler
from bot.local.slack_requests import slash_command_form
from bot.local.slack_standin import SlackStandIn
from tests.bot.conftest import SECRET

CONTEXT = SimpleNamespace(
    function_name="opsbot", invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:opsbot"
)


def api_event(method: str, path: str, body: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event, as Lambda receives it."""
    return {
        "version": "2.0",
        "rawPath": path,
        "headers": headers or {},
        "body": body,
        "isBase64Encoded": False,
        "requestContext": {"http": {"method": method, "path": path}, "stage": "$default"},
    }


def _signed_event(form: dict[str, str]) -> dict:
    body = urlencode(form)
    ts = str(int(time.time()))
    signature = SignatureVerifier(SECRET).generate_signature(timestamp=ts, body=body)
    headers = {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": ts,
        "x-slack-signature": signature or "",
    }
    return api_event("POST", "/slack/events", body, headers)


def test_slash_command_on_lambda_acks_then_answers_through_a_self_invocation(lambda_env: SlackStandIn) -> None:
    response_url = lambda_env.new_response_url()
    event = _signed_event(slash_command_form("/eb-ip", "help", response_url))
    lam = lambda_handler._runtime().aws.client("lambda")
    invocations: list[dict[str, Any]] = []
    with Stubber(lam) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": CONTEXT.invoked_function_arn, "InvocationType": "Event", "Payload": ANY},
        )
        lam.meta.events.register("before-parameter-build.lambda.Invoke", lambda params, **_: invocations.append(params))
        ack = lambda_handler.slack_handler(event, CONTEXT)
        stub.assert_no_pending_responses()
    assert ack["statusCode"] == 200
    assert not lambda_env.calls_to("response_url"), "the ack must not wait for the work"

    (invocation,) = invocations
    lazy_event = json.loads(invocation["Payload"])
    assert lambda_handler.slack_handler(lazy_event, CONTEXT)["statusCode"] == 200
    reply = lambda_env.replies_to(response_url)[0]
    assert reply["response_type"] == "ephemeral"
    assert "/eb-ip" in reply["text"] and "Usage" in reply["text"]


def test_forged_request_on_lambda_is_rejected(lambda_env: SlackStandIn) -> None:
    event = _signed_event(slash_command_form("/eb-ip", "", lambda_env.new_response_url()))
    event["headers"]["x-slack-signature"] = "v0=" + "0" * 64
    assert lambda_handler.slack_handler(event, CONTEXT)["statusCode"] == 401


def test_routes_on_lambda_need_a_token(lambda_env: SlackStandIn) -> None:
    response = lambda_handler.slack_handler(api_event("GET", "/eb/my-env/ip"), CONTEXT)
    assert response["statusCode"] == 401
    assert response["body"].startswith("missing or revoked token")


def test_healthz_and_unknown_routes_on_lambda(lambda_env: SlackStandIn) -> None:
    assert lambda_handler.slack_handler(api_event("GET", "/healthz"), CONTEXT)["statusCode"] == 200
    assert lambda_handler.slack_handler(api_event("GET", "/nope"), CONTEXT)["statusCode"] == 404


def _invoke_counting(event: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The handler's answer, and the lazy self-invocations it started (boto3's Stubber on the lambda client)."""
    lam = lambda_handler._runtime().aws.client("lambda")
    invocations: list[dict[str, Any]] = []
    with Stubber(lam) as stub:
        stub.add_response("invoke", {"StatusCode": 202}, None)
        record = lambda params, **_: invocations.append(params)  # noqa: E731
        lam.meta.events.register("before-parameter-build.lambda.Invoke", record)
        try:
            answer = lambda_handler.slack_handler(event, CONTEXT)
        finally:
            lam.meta.events.unregister("before-parameter-build.lambda.Invoke", record)
    return answer, invocations


def test_a_replayed_request_on_lambda_is_acked_empty_and_runs_once(lambda_env: SlackStandIn) -> None:
    response_url = lambda_env.new_response_url()
    event = _signed_event(slash_command_form("/eb-ip", "help", response_url))
    acks = []
    for _ in range(2):
        ack, (invocation,) = _invoke_counting(json.loads(json.dumps(event)))
        acks.append((ack["statusCode"], ack["body"]))
        assert lambda_handler.slack_handler(json.loads(invocation["Payload"]), CONTEXT)["statusCode"] == 200

    assert acks == [(200, ""), (200, "")]
    assert len(lambda_env.replies_to(response_url)) == 1
    time.sleep(0.5)
    assert len(lambda_env.calls_to("response_url")) == 1


def test_bolts_lazy_marker_from_outside_is_refused_on_lambda(lambda_env: SlackStandIn) -> None:
    response_url = lambda_env.new_response_url()
    event = _signed_event(slash_command_form("/eb-ip", "help", response_url))
    event["headers"]["x-slack-bolt-lazy-only"] = "1"  # would run the work at once, skipping the ack
    event["headers"]["x-slack-bolt-lazy-function-name"] = "run_eb_ip"
    response = lambda_handler.slack_handler(event, CONTEXT)
    assert response["statusCode"] == 400 and response["body"].count("\n") == 1
    assert not lambda_env.calls_to("response_url")


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"headers": {"x-slack-request-timestamp": "soon", "x-slack-signature": "v0=1"}}, 401),
        ({"body": "!!!not base64", "isBase64Encoded": True}, 400),
        ({"body": "x" * (300 * 1024)}, 413),  # under the base64 pre-check: the gate counts it
        ({"requestContext": {"http": {"method": "GET"}}}, 405),
    ],
)
def test_malformed_slack_requests_on_lambda_get_one_line_4xx(
    lambda_env: SlackStandIn, change: dict[str, Any], status: int
) -> None:
    event = {**_signed_event(slash_command_form("/eb-ip", "help", lambda_env.new_response_url())), **change}
    response = lambda_handler.slack_handler(event, CONTEXT)
    assert response["statusCode"] == status and response["body"].count("\n") == 1


def _lazy_event(lambda_env: SlackStandIn, text: str, response_url: str) -> dict[str, Any]:
    """The self-invocation the ack of one slash command makes, captured as Lambda would get it."""
    _, (invocation,) = _invoke_counting(_signed_event(slash_command_form("/eb-ip", text, response_url)))
    return dict(json.loads(invocation["Payload"]))


def test_a_reply_one_invocation_could_not_deliver_is_delivered_by_the_next(
    lambda_env: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPSBOT_DELIVERY_WAIT_SECONDS", "1")
    lambda_handler.forget_container()
    first_url = lambda_env.new_response_url()
    first = _lazy_event(lambda_env, "help", first_url)
    lambda_env.outage("response_url")
    assert lambda_handler.slack_handler(first, CONTEXT)["statusCode"] == 200  # returns within its time
    assert lambda_env.calls_to("response_url"), "the invocation tried"
    lambda_env.heal()

    lambda_handler.forget_container()  # the next invocation may land in another container
    second_url = lambda_env.new_response_url()
    assert lambda_handler.slack_handler(_lazy_event(lambda_env, "help", second_url), CONTEXT)["statusCode"] == 200
    assert "Usage" in lambda_env.replies_to(first_url)[0]["text"]
    assert "Usage" in lambda_env.replies_to(second_url)[0]["text"]
