"""`opsbot run` prints what Slack would show and exits non-zero on usage and AWS errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSBOT_STATE", str(tmp_path / "state.db"))


def test_help_prints_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/eb-ip help"]) == EXIT_OK
    assert "Usage: `/eb-ip" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/nope"]) == EXIT_USAGE
    assert "unknown command '/nope'; one of: /eb-ip" in capsys.readouterr().err


def test_bad_text_fails_with_the_reason_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/eb-ip $(reboot)"]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert "Usage: `/eb-ip" in captured.err and captured.out == ""


def test_bad_setting_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("OPSBOT_TIMEZONE", "Nowhere/Special")
    assert main(["run", "/eb-ip help"]) == EXIT_USAGE
    assert "OPSBOT_TIMEZONE" in capsys.readouterr().err


def test_serve_without_slack_settings_names_them(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert main(["serve"]) == EXIT_USAGE
    assert "SLACK_APP_TOKEN" in capsys.readouterr().err
    assert main(["serve", "--http"]) == EXIT_USAGE
    assert "SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET" in capsys.readouterr().err


def test_the_console_script_exit_code_reaches_the_shell(moto: str, tmp_path: Path) -> None:
    env = {**os.environ, "OPSBOT_STATE": str(tmp_path / "cli.db")}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run", "/eb-ip no-such-env"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == EXIT_FAILED
    assert "no-such-env" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_with_slack_unreachable_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-x")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    assert main(["serve", "--http"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Slack is unreachable at http://127.0.0.1:9/api/" in err and "SLACK_API_URL" in err
    assert "Traceback" not in err


def test_serve_with_a_refused_token_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.local.slack_standin import SlackStandIn

    with SlackStandIn() as standin:
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-revoked")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        assert main(["serve", "--http"]) == EXIT_USAGE
    assert "SLACK_BOT_TOKEN: Slack refused it" in capsys.readouterr().err


@pytest.mark.parametrize("status", [503, 429])
def test_serve_while_slack_answers_auth_test_with_5xx_or_429_says_slack_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], status: int
) -> None:
    from bot.local.slack_standin import SlackStandIn

    with SlackStandIn() as standin:
        standin.outage("auth.test", status=status)
        monkeypatch.setenv("SLACK_BOT_TOKEN", standin.bot_token)
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")
        monkeypatch.setenv("SLACK_API_URL", standin.api_url)
        assert main(["serve", "--http"]) == EXIT_USAGE
        tries = len(standin.calls_to("auth.test"))
    err = capsys.readouterr().err
    assert f"Slack is unreachable at {standin.api_url} (HTTP {status})" in err
    assert "refused" not in err and "invalid" not in err and "Traceback" not in err
    assert tries == 4  # the first and three more


def test_serve_starts_when_slack_answers_auth_test_after_two_503s(tmp_path: Path) -> None:
    import socket
    import time
    import urllib.request

    from bot.local.slack_standin import SlackStandIn

    with SlackStandIn() as standin, socket.socket() as probe:
        standin.fail_next("auth.test", status=503, times=2)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        env = {
            **os.environ,
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": standin.api_url,
            "OPSBOT_STATE": str(tmp_path / "serve.db"),
        }
        log = tmp_path / "serve.log"
        command = [sys.executable, "-m", "bot.cli", "serve", "--http", "--port", str(port)]
        with log.open("wb") as out:
            server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline, healthy = time.monotonic() + 60, False
            while not healthy and server.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as answer:
                        healthy = answer.status == 200
                except OSError:
                    time.sleep(0.1)
            assert healthy, f"opsbot serve did not start: {log.read_text()}"
            assert len(standin.calls_to("auth.test")) == 3
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_a_prune_is_confirmed_from_the_terminal_with_press(moto: str, capsys: pytest.CaptureFixture[str]) -> None:
    from bot.aws import AwsClients
    from bot.local.seeds_capacity import seed_demo_functions

    seed_demo_functions(AwsClients())
    assert main(["run", "/lambda-capacity prune"]) == EXIT_OK
    captured = capsys.readouterr()
    assert "[ Delete 12 versions (3.6 MiB) ]" in captured.out
    assert "buttons: lambda_capacity_prune_delete (Delete 12 versions (3.6 MiB))" in captured.err

    assert main(["run", "/lambda-capacity prune", "--press", "lambda_capacity_prune_delete"]) == EXIT_OK
    assert "deleted 12 of 12 versions, freed 3.6 MiB" in capsys.readouterr().out

    assert main(["run", "/lambda-capacity prune", "--press", "no_such_button"]) == EXIT_USAGE
    assert "the reply has no button 'no_such_button'" in capsys.readouterr().err


def test_help_lists_the_slash_commands_with_their_summaries(capsys: pytest.CaptureFixture[str]) -> None:
    from commands import COMMANDS

    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in COMMANDS:
        assert f"  {command.name}" in out and command.summary in out


def test_a_mistyped_command_name_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "/tial my-function"]) == EXIT_USAGE
    assert capsys.readouterr().err.rstrip().endswith("Did you mean `/tail`?")


def _opsbot(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180
    )


def test_a_terminal_run_is_quiet_and_keeps_state_in_the_users_state_directory(moto: str, tmp_path: Path) -> None:
    work, state = tmp_path / "work", tmp_path / "state"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "OPSBOT_STATE"}
    env |= {"XDG_STATE_HOME": str(state), "PYTHONPATH": str(ROOT)}

    first = _opsbot("run", "/lambda-capacity --all-regions", cwd=work, env=env)
    second = _opsbot("run", "/lambda-capacity --region eu-west-1", cwd=work, env=env)

    assert first.returncode == EXIT_OK, first.stderr
    assert second.returncode == EXIT_OK, second.stderr
    notice = f"opsbot: keeping state in {state / 'opsbot' / 'opsbot.db'} (OPSBOT_STATE sets another place)"
    assert first.stderr.splitlines()[0] == notice
    assert notice not in second.stderr  # said once, on first use
    for done in (first, second):
        assert " INFO " not in done.stderr and "Found credentials" not in done.stderr
        assert "*" not in done.stdout and ":large_green_circle:" not in done.stdout
    assert list(work.iterdir()) == []
    assert (state / "opsbot" / "opsbot.db").exists()


def test_verbose_lets_the_library_logs_through(moto: str, tmp_path: Path) -> None:
    env = {**os.environ, "OPSBOT_STATE": str(tmp_path / "cli.db")}
    done = _opsbot("-v", "run", "/lambda-capacity --region eu-west-1", cwd=tmp_path, env=env)
    assert done.returncode == EXIT_OK, done.stderr
    assert "botocore" in done.stderr
