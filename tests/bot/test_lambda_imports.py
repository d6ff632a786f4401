"""What a Lambda cold start imports before its ack: the features' declarations only, none of their
modules, and none of the heavy libraries (charts, SSH, git) that only some commands need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("matplotlib", "numpy", "paramiko", "dulwich", "difflib")


def imported_by(statement: str) -> set[str]:
    """The modules a fresh interpreter holds after `statement` (nothing else imported first)."""
    code = f"import json, sys\n{statement}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout))


def test_importing_the_lambda_handler_loads_no_feature_module_and_nothing_heavy() -> None:
    modules = imported_by("import bot.lambda_handler")
    features = {m for m in modules if m.startswith("commands.") and m.count(".") > 1}
    assert features == set()  # e.g. commands.scores.chart, commands.tail.lambda_format
    assert {m for m in modules if m.split(".")[0] in HEAVY} == set()
    assert "commands.scores" in modules  # the declarations themselves are there


def test_the_lambda_handler_leaves_each_entry_s_own_parts_to_that_entry() -> None:
    modules = imported_by("import bot.lambda_handler")
    # The Bolt app (Slack's entry), the queue's sender, the routes' limits, the settings file's parser.
    deferred = {"bot.slack.app", "slack_bolt.adapter.aws_lambda", "bot.slack.sender", "bot.http_limits", "tomllib"}
    assert modules & deferred == set()


def test_a_feature_module_is_imported_by_its_first_call() -> None:
    modules = imported_by(
        "from bot.settings import load_settings\nfrom commands.tail import JOB\nJOB.interval(load_settings({}))"
    )
    assert "commands.tail.options" in modules and "commands.tail.poller" not in modules
