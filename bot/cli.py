"""`opsbot`: serve Slack (Socket Mode or HTTP), run a slash command from the terminal, run the demo."""

from __future__ import annotations

import argparse
import functools
import logging
import signal
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from bot.args import did_you_mean
from bot.reply import Reply
from bot.settings import Settings, SettingsError, load_settings
from bot.slack.blocks import as_text, buttons
from bot.terminal import ProgressLine, for_terminal

log = logging.getLogger("opsbot")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_NAMES = {"cli": "you"}  # the terminal's user, as replies mention it


def _slash_commands() -> str:
    from commands import COMMANDS

    width = max(len(c.name) for c in COMMANDS)
    lines = [f"  {c.name:<{width}}  {c.summary}" for c in COMMANDS]
    return 'slash commands (opsbot run "/COMMAND help" for each one\'s usage):\n' + "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="opsbot",
        description="A Slack ChatOps bot for AWS.",
        epilog=_slash_commands(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the libraries do (boto3, Slack)")
    sub = parser.add_subparsers(dest="action", required=True)

    serve = sub.add_parser("serve", help="answer Slack: Socket Mode if SLACK_APP_TOKEN is set, else --http")
    serve.add_argument("--http", action="store_true", help="serve HTTP (POST /slack/events, GET /healthz, ...)")
    serve.add_argument("--host", default="127.0.0.1", help="HTTP address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")

    run = sub.add_parser("run", help='run a slash command here and print the answer, e.g. opsbot run "/eb-ip my-env"')
    run.add_argument("command_line", metavar="COMMAND", help="the slash command and its text, quoted")
    run.add_argument("--out", type=Path, default=Path("."), help="where to save files a reply carries")
    run.add_argument(
        "--press",
        metavar="ACTION_ID",
        action="append",
        default=[],
        help="then press this button of the reply, as Slack would (e.g. to confirm a prune plan)",
    )

    ssh = sub.add_parser("ssh-config", help="print an ~/.ssh/config block for an Elastic Beanstalk environment")
    ssh.add_argument("environment")
    ssh.add_argument("--token-file", default="~/.config/opsbot/token", help="where your opsbot token is kept")

    logs = sub.add_parser("logs", help="subscribe the log forwarder Lambda to a log group, or undo it")
    logs.add_argument("verb", choices=("subscribe", "unsubscribe"))
    logs.add_argument("--log-group", required=True)
    logs.add_argument("--destination-arn", required=True, help="the forwarder function's ARN (logs_handler)")
    logs.add_argument("--filter", default="", help="a CloudWatch Logs filter pattern (default: every event)")

    ref = sub.add_parser("reference", help="print the README's command reference, from the commands' own help")
    ref.add_argument("--write", type=Path, metavar="README", help="replace the reference section of this file")

    demo = sub.add_parser("demo", help="run the local demo: moto + a Slack stand-in + the bot over HTTP")
    demo.add_argument("--out", type=Path, default=Path("opsbot-demo"), help="where to write the transcript")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # A server's log is its output; a terminal command's output is its answer: libraries stay quiet
    # there ("Found credentials in environment variables") unless asked.
    quiet = logging.INFO if args.action == "serve" else logging.WARNING
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.action == "serve":
            return _serve(args)
        if args.action == "run":
            return _run(args.command_line, args.out, args.press)
        if args.action == "ssh-config":
            return _ssh_config(args.environment, args.token_file)
        if args.action == "logs":
            return _logs(args)
        if args.action == "reference":
            return _reference(args.write)
        from bot.local.demo import run_demo

        return run_demo(args.out)
    except SettingsError as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_OK


def _run(command_line: str, out: Path, presses: Sequence[str] = ()) -> int:
    from bot.command import run_button, run_command
    from bot.runtime import Runtime
    from commands import COMMANDS, find

    name, _, text = command_line.strip().partition(" ")
    command = find(name) if name.startswith("/") else None
    if command is None:
        known = ", ".join(c.name for c in COMMANDS)
        suggestion = did_you_mean(name if name.startswith("/") else "/" + name, (c.name for c in COMMANDS))
        print(f"opsbot: unknown command {name!r}; one of: {known}.{suggestion}", file=sys.stderr)
        return EXIT_USAGE
    settings = load_settings()
    new_state = _new_state_file(settings)
    runtime = Runtime.from_settings(settings)
    if new_state:
        print(f"opsbot: keeping state in {new_state} (OPSBOT_STATE sets another place)", file=sys.stderr)
    progress = ProgressLine(sys.stderr)
    show = partial(_show, out=out, progress=progress)
    ctx = runtime.context("cli", "cli", progress=progress, trusted=True, post=lambda _channel, r: show(r))
    reply = run_command(command, text, ctx)
    show(reply)
    if reply.afterwards is not None:
        reply.afterwards(ctx, True)  # a follow prints as it goes; Ctrl-C ends it
    for action_id in presses:
        button = next((b for b in buttons(reply.blocks) if b.get("action_id") == action_id), None)
        if button is None:
            print(f"opsbot: the reply has no button {action_id!r}", file=sys.stderr)
            return EXIT_USAGE
        reply = run_button(command, action_id, str(button.get("value", "")), ctx)
        show(reply)
    offered = [f"{b.get('action_id')} ({b.get('text', {}).get('text', '')})" for b in buttons(reply.blocks)]
    if offered and not presses:
        print(f"buttons: {', '.join(offered)}; run again with --press ACTION_ID to press one", file=sys.stderr)
    return EXIT_OK if reply.ok else EXIT_FAILED


def _new_state_file(settings: Settings) -> Path | None:
    """The SQLite file this run is about to create, or None (it exists, or the state is in DynamoDB)."""
    if "://" in settings.state_url:
        return None
    path = Path(settings.state_url).expanduser()
    return None if path.exists() else path


def _show(reply: Reply, out: Path, progress: ProgressLine) -> None:
    progress.clear()
    stream = sys.stdout if reply.ok else sys.stderr
    shown = functools.partial(for_terminal, bold=stream.isatty(), names=_NAMES)
    print(as_text(reply, shown), file=stream, flush=True)
    for attachment in reply.files:
        out.mkdir(parents=True, exist_ok=True)
        path = out / attachment.filename
        path.write_bytes(attachment.content)
        print(f"saved {path}", file=sys.stderr)


def _ssh_config(environment: str, token_file: str) -> int:
    from bot.command import CommandError, UsageError
    from commands.eb_ip.ssh_config import ssh_config_for_cli

    settings = load_settings()
    try:
        print(ssh_config_for_cli(environment, settings, token_file))
    except (UsageError, CommandError) as exc:  # a bad name, or OPSBOT_PUBLIC_URL unset: one line, no traceback
        print(f"opsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _logs(args: argparse.Namespace) -> int:
    from bot.aws import AWS_ERRORS, AwsClients, describe_aws_error
    from commands.tail.subscribe import SubscribeError, Subscription, subscribe, unsubscribe

    aws = AwsClients()
    try:
        if args.verb == "subscribe":
            done = subscribe(aws, Subscription(args.log_group, args.destination_arn, args.filter))
        else:
            done = unsubscribe(aws, args.log_group, args.destination_arn)
    except SubscribeError as exc:
        print(f"opsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AWS_ERRORS as exc:
        print(f"opsbot: {describe_aws_error(exc)}", file=sys.stderr)
        return EXIT_FAILED
    print("\n".join(done))
    return EXIT_OK


def _reference(readme: Path | None) -> int:
    from bot.reference import reference, with_reference
    from commands import COMMANDS

    if readme is None:
        print(reference(COMMANDS))
        return EXIT_OK
    try:
        readme.write_text(with_reference(readme.read_text(), COMMANDS))
    except (OSError, ValueError) as exc:
        print(f"opsbot: {readme}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _serve(args: argparse.Namespace) -> int:
    from slack_bolt.error import BoltError

    from bot.command import SHUTDOWN
    from bot.jobs import start_background_jobs
    from bot.runtime import Runtime
    from bot.slack.app import SlackUnreachable, build_app, check_token
    from bot.slack.delivery import SlackDelivery
    from commands import COMMANDS

    settings = load_settings()
    socket_mode = not args.http
    if socket_mode and not settings.slack_app_token:
        raise SettingsError("missing setting: SLACK_APP_TOKEN (for Socket Mode), or pass --http")
    settings.require_slack(socket_mode=socket_mode)
    runtime = Runtime.from_settings(settings)
    delivery = SlackDelivery.configured(settings, runtime.store)
    try:
        check_token(delivery.client)  # auth.test, tried again while Slack answers 5xx or 429
    except BoltError as exc:
        raise SettingsError(f"SLACK_BOT_TOKEN: Slack refused it ({exc})") from None
    except SlackUnreachable as exc:
        raise SettingsError(
            f"Slack is unreachable at {settings.slack_api_url} ({exc}); check SLACK_API_URL and the network"
        ) from None
    # The token was checked just now: Bolt's own unretried auth.test could still call it invalid.
    app = build_app(runtime, COMMANDS, delivery, verify_token=False, socket_mode=socket_mode)
    signal.signal(signal.SIGTERM, _interrupt)  # a stop from systemd, Docker or a platform is Ctrl-C
    delivery.start()  # replies an earlier run queued and could not deliver go out now
    start_background_jobs(COMMANDS, runtime, delivery)
    try:
        if socket_mode:
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            log.info("opsbot serving Slack over Socket Mode")
            SocketModeHandler(app, settings.slack_app_token).start()
            return EXIT_OK
        from bot.http import OpsbotWsgi, serve_http

        log.info("opsbot serving HTTP on %s:%d", args.host, args.port)
        serve_http(OpsbotWsgi(runtime, app, COMMANDS), args.host, args.port)
        return EXIT_OK
    finally:
        # Long work still on worker threads (a follow) ends, so the exit does not wait for it.
        SHUTDOWN.set()


if __name__ == "__main__":
    sys.exit(main())
