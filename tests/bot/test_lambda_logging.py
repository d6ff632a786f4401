"""On Lambda the bot's INFO lines reach the runtime's log handler at the level the template sets
(AWS_LAMBDA_LOG_LEVEL, from LoggingConfig's ApplicationLogLevel), whatever the log format; anywhere
else importing the entry point leaves the caller's logging alone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# As the runtime does before it imports the handler: its handler on the root logger, the level
# set only for the JSON format (here: left at WARNING, the text format's case).
IMPORT_AND_LOG = """
import logging, sys
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
logging.getLogger().addHandler(handler)
import bot.lambda_handler
logging.getLogger("commands.tail.forwarder").info("forwarded a batch")
logging.getLogger("bot.slack.delivery").warning("Slack said ratelimited")
"""


def run(env: dict[str, str]) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_AND_LOG],
        cwd=ROOT,
        env={"PATH": "", "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.parametrize("level", [None, "INFO", "info", "DEBUG", "TRACE"])
def test_info_lines_reach_the_runtimes_handler_on_lambda(level: str | None) -> None:
    env = {"AWS_LAMBDA_FUNCTION_NAME": "opsbot-slack-bot", **({"AWS_LAMBDA_LOG_LEVEL": level} if level else {})}
    assert run(env) == [
        "INFO commands.tail.forwarder forwarded a batch",
        "WARNING bot.slack.delivery Slack said ratelimited",
    ]


def test_a_higher_level_from_the_template_holds_back_info() -> None:
    lines = run({"AWS_LAMBDA_FUNCTION_NAME": "opsbot-slack-bot", "AWS_LAMBDA_LOG_LEVEL": "WARN"})
    assert lines == ["WARNING bot.slack.delivery Slack said ratelimited"]


def test_off_lambda_the_callers_logging_is_left_alone() -> None:
    assert run({}) == ["WARNING bot.slack.delivery Slack said ratelimited"]
