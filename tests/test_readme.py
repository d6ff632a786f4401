"""The README is a front door that cannot go stale: its command reference is the commands' own help,
and every concrete command it or docs/ shows is one the commands accept."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.cli import _parser
from bot.command import UsageError
from bot.reference import reference, with_reference
from commands import COMMANDS
from commands.eb_ip.parse import parse as eb_ip_parse
from commands.lambda_capacity.parse import parse as lambda_capacity_parse
from commands.scores.parse import parse as scores_parse
from commands.tail.parse import parse as tail_parse

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
PARSERS: dict[str, Callable[[str], object]] = {
    "/eb-ip": eb_ip_parse,
    "/lambda-capacity": lambda_capacity_parse,
    "/tail": lambda text: tail_parse(text, UTC, NOW),
    "/scores": lambda text: scores_parse(text, UTC, NOW),
}
# A placeholder (`GAME`, `N`, `<url>`, `[--all]`, `…`) makes a span a pattern, not a command to try.
_PLACEHOLDER = re.compile(r"[\[\]<>|…]|\b[A-Z][A-Z_-]*\b")


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`\n]+)`", text) + [
        line.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.S) for line in block.splitlines()
    ]


def slash_examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for span in code_spans(page.read_text()):
            inner = re.fullmatch(r'opsbot run "([^"]+)".*', span)
            line = inner[1] if inner else span
            name, _, text = line.partition(" ")
            # A name alone names the command in prose; it is no example to try.
            if (
                name in PARSERS
                and len(text.split()) > (1 if " " not in line.strip() else 0)
                and not _PLACEHOLDER.search(text)
            ):
                found.append((page.name, line))
    return found


def cli_examples() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for span in code_spans(page.read_text()):
            if span.startswith("opsbot ") and not _PLACEHOLDER.search(span.split("#")[0]):
                found.append((page.name, re.split(r"\s(?:>>|#|&&)\s", span)[0]))
    return found


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for page in ("commands", "deployment", "configuration", "architecture", "security", "benchmarks"):
        assert f"(docs/{page}.md)" in readme and (ROOT / "docs" / f"{page}.md").exists()


def test_the_command_reference_is_the_commands_own_help() -> None:
    readme = (ROOT / "README.md").read_text()
    assert reference(COMMANDS) in readme, "run `opsbot reference --write README.md`"
    assert with_reference(readme, COMMANDS) == readme


def test_there_are_examples_to_check() -> None:
    assert {line.split()[0] for _, line in slash_examples()} == set(PARSERS)
    assert len(cli_examples()) >= 5


@pytest.mark.parametrize(("page", "line"), slash_examples())
def test_every_slash_command_the_docs_show_is_accepted(page: str, line: str) -> None:
    name, _, typed = line.partition(" ")
    # What Slack sends for a typed @name, with the manifest's should_escape: true.
    text = re.sub(r"(?<!\S)@([a-z][a-z0-9._-]*)", r"<@U0TYPED|\1>", typed)
    try:
        PARSERS[name](text)
    except UsageError as refusal:
        pytest.fail(f"{page} shows `{line}`, which {name} refuses: {refusal}")


@pytest.mark.parametrize(("page", "line"), cli_examples())
def test_every_opsbot_command_line_the_docs_show_is_accepted(
    page: str, line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    try:
        _parser().parse_args(shlex.split(line)[1:])
    except SystemExit as stop:
        refusal = capsys.readouterr().err
        # `opsbot logs subscribe` in prose names an action without its arguments: that is no mistake.
        if stop.code and "the following arguments are required" not in refusal:
            pytest.fail(f"{page} shows `{line}`, which opsbot refuses: {refusal}")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_commit_hashes_in_prose(page: Path) -> None:
    words = re.findall(r"\b[0-9a-f]{7,40}\b", page.read_text())
    hashes = [w for w in words if re.search("[a-f]", w) and re.search("[0-9]", w) and w != "ed25519"]
    assert hashes == []


def test_opsbot_reference_writes_the_section_and_refuses_a_file_without_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import EXIT_OK, EXIT_USAGE, main
    from bot.reference import END, START

    readme = tmp_path / "README.md"
    readme.write_text(f"# intro\n\n{START}\nstale\n{END}\n\n## after\n")
    assert main(["reference", "--write", str(readme)]) == EXIT_OK
    assert readme.read_text() == f"# intro\n\n{reference(COMMANDS)}\n\n## after\n"

    readme.write_text("# no markers\n")
    assert main(["reference", "--write", str(readme)]) == EXIT_USAGE
    assert "has no command reference markers" in capsys.readouterr().err
