"""`opsbot run "/tail …"` prints log lines, which are anyone's text, without the control characters and
escape sequences that would steer the terminal: real log events in moto, through the CLI's main()."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.cli import EXIT_OK, main
from tests.commands.tail.conftest import Seeder, put_events

HOSTILE = (
    "title\x1b]0;pwned\x07 link\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\ "
    "nul\x00 bell\x07 red\x1b[31mALERT\x1b[0m clear\x1b[2J done"
)


def test_log_lines_reach_the_terminal_without_control_characters(
    seed_group: Seeder, aws_clients: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "state.db"))
    first = seed_group("/aws/lambda/loud", "classic_node.jsonl")
    put_events(aws_clients, "/aws/lambda/loud", [{"stream": "s", "timestamp": first + 5, "message": HOSTILE}])

    assert main(["run", "/tail loud"]) == EXIT_OK

    printed = capsys.readouterr()
    assert "title linkclick nul bell redALERT clear done" in printed.out
    for control in ("\x1b", "\x07", "\x00"):
        assert control not in printed.out + printed.err
