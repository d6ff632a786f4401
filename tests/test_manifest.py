"""manifest.yml is a valid Slack app manifest and declares exactly the commands the bot answers."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from commands import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"


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


def test_manifest_asks_only_for_the_scopes_it_uses(manifest: dict) -> None:
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == ["chat:write", "commands", "files:write"]
    assert manifest["settings"]["socket_mode_enabled"] is True
