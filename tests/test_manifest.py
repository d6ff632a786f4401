"""manifest.yml is a valid Slack app manifest and declares exactly the commands the bot answers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from commands import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
# Slack's published schema, vendored with its MIT licence so the tests need nothing outside the repository.
SCHEMA = ROOT / "tests" / "slack_schema" / "manifest.schema.1.0.0.json"


@pytest.fixture(scope="module")
def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_published_schema(manifest: dict) -> None:
    if not SCHEMA.exists():
        pytest.fail(f"Slack's manifest schema is missing at {SCHEMA}")
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(manifest, schema)


def test_schema_check_catches_a_broken_manifest(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    broken = {**manifest, "features": {"slash_commands": [{"command": "eb-ip"}]}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_manifest_declares_every_registered_command(manifest: dict) -> None:
    declared = {c["command"] for c in manifest["features"]["slash_commands"]}
    assert declared == {c.name for c in COMMANDS}
    for entry in manifest["features"]["slash_commands"]:
        assert entry["description"] and entry["usage_hint"]


def test_manifest_has_slack_send_typed_users_as_mentions(manifest: dict) -> None:
    # should_escape: false sends a typed @jane as plain text, which names nobody: /eb-ip revoke needs the id.
    assert all(entry["should_escape"] is True for entry in manifest["features"]["slash_commands"])


def test_manifest_asks_only_for_the_scopes_it_uses(manifest: dict) -> None:
    scopes = sorted(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == ["app_mentions:read", "chat:write", "commands", "files:write", "usergroups:read"]
    assert manifest["settings"]["socket_mode_enabled"] is True


def test_manifest_subscribes_to_the_events_the_app_answers(manifest: dict) -> None:
    from bot.slack.app import EVENTS

    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert sorted(manifest["settings"]["event_subscriptions"]["bot_events"]) == sorted(EVENTS)


def test_manifest_usage_hints_are_the_commands_own_and_within_slacks_limit(manifest: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    limit = schema["definitions"]["app-manifests.v1.features.slash_commands"]["items"]["properties"]["usage_hint"]
    hints = {c["command"]: c["usage_hint"] for c in manifest["features"]["slash_commands"]}
    for command in COMMANDS:
        if command.usage_hint:  # empty: not available yet, the manifest already says what it will take
            assert hints[command.name] == command.usage_hint
            assert len(command.usage_hint) <= limit["maxLength"]
    assert "run CHECK" in hints["/eb-ip"] and "archive" in hints["/lambda-capacity"]
