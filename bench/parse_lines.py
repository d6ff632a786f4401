"""Hostile log lines through /tail's message parser, beside the `re` REPORT pattern it replaced, and
the bot's acks while one is being parsed.

    python bench/parse_lines.py [--runs 5] [--baseline-kb 8,16,32] [--ack-seconds 5]

1. Every hostile shape at 64 and 256 KB (a CloudWatch event is at most 256 KB): the least of
   `--runs` parses, in this thread's CPU time and in wall time, with the garbage collector on.
2. `REPORT RequestId: <id>\\t` and letters, the line that froze the bot: ours beside the baseline,
   the `re` pattern the parser used for REPORT fields (`_FIELD`, kept here verbatim), which is
   quadratic, so it is run only up to `--baseline-kb`.
3. Acks: the real app (Bolt, waitress, the Slack stand-in) answers signed `/tail stop` commands,
   one after another, while another thread parses hostile lines, as a lazy worker would; once with
   ours on 256 KB lines, once with the baseline on the largest baseline size. An ack's time runs
   from the previous ack, so a stall of the whole process (a regex holding the GIL) is counted.
Everything listens on 127.0.0.1 only and is stopped before the script exits.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import platform
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waitress.server import create_server  # noqa: E402

from bot.aws import AwsClients  # noqa: E402
from bot.http import OpsbotWsgi  # noqa: E402
from bot.local.aws import use_fake_credentials  # noqa: E402
from bot.local.hostile_lines import SHAPES  # noqa: E402
from bot.local.slack_requests import send_signed, slash_command_form  # noqa: E402
from bot.local.slack_standin import SlackStandIn  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from bot.slack.app import build_app  # noqa: E402
from bot.slack.delivery import SlackDelivery  # noqa: E402
from commands import COMMANDS  # noqa: E402
from commands.tail.lambda_format import parse_message  # noqa: E402

SECRET = "bench-signing-secret"
SLACK_ACK_LIMIT = 3.0
# The REPORT field pattern before issue 14: `[A-Za-z ]*?` and `[^\t]*?` share the letters, and
# finditer retries from every position, so a run of letters without a colon is quadratic.
BASELINE_FIELD = re.compile(r"(?P<key>[A-Za-z][A-Za-z ]*?):\s*(?P<value>[^\t]*?)\s*(?:\t|$)")


def baseline_fields(line: str) -> dict[str, str]:
    """What the old parser did with a REPORT line's fields."""
    rest = line.split("\t", 1)[1] if "\t" in line else ""
    return {m["key"].strip(): m["value"] for m in BASELINE_FIELD.finditer(rest)}


def least(parse: Callable[[str], object], line: str, runs: int) -> tuple[float, float]:
    """The least CPU and the least wall seconds of `runs` parses."""
    cpu = wall = float("inf")
    for _ in range(runs):
        started_cpu, started = time.thread_time(), time.perf_counter()
        parse(line)
        cpu = min(cpu, time.thread_time() - started_cpu)
        wall = min(wall, time.perf_counter() - started)
    return cpu, wall


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def print_table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))]))
    print()


def shapes_table(runs: int) -> None:
    rows = []
    for name, make in SHAPES.items():
        small, large = make(64 * 1024), make(256 * 1024)
        cpu_small, _ = least(parse_message, small, runs)
        cpu_large, wall_large = least(parse_message, large, runs)
        rows.append([name, ms(cpu_small), ms(cpu_large), ms(wall_large), f"{cpu_large / max(cpu_small, 1e-6):.1f}x"])
    print_table(["shape (ours)", "64 KB cpu", "256 KB cpu", "256 KB wall", "256/64"], rows)


def report_table(runs: int, baseline_kb: list[int]) -> None:
    rows = []
    for kb in sorted({*baseline_kb, 64, 256}):
        line = SHAPES["REPORT then letters"](kb * 1024)
        ours, _ = least(parse_message, line, runs)
        base = ms(least(baseline_fields, line, 1)[0]) if kb in baseline_kb else "(not run)"
        rows.append([f"{kb} KB", ms(ours), base])
    print_table(["REPORT then letters", "ours cpu", "re baseline cpu"], rows)


@contextlib.contextmanager
def served_bot(standin: SlackStandIn, state_dir: str) -> Iterator[str]:
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": standin.bot_token,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": standin.api_url,
            "OPSBOT_STATE": str(Path(state_dir) / "state.db"),
        }
    )
    runtime = Runtime.from_settings(settings, AwsClients())
    delivery = SlackDelivery.configured(settings, runtime.store)
    app = build_app(runtime, COMMANDS, delivery=delivery)
    server = create_server(OpsbotWsgi(runtime, app, COMMANDS), host="127.0.0.1", port=0, threads=settings.http_threads)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.effective_port}/slack/events"
    finally:
        server.task_dispatcher.shutdown(timeout=5)  # no request in flight when the sockets close
        server.close()
        thread.join(timeout=5)
        app.listener_runner.listener_executor.shutdown(wait=True, cancel_futures=True)
        delivery.flush(10)  # the replies to `/tail stop`, before the stand-in and the state go
        delivery.stop()


def acks_while(parse: Callable[[], object], events_url: str, standin: SlackStandIn, at_least: float) -> list[float]:
    """How long each signed `/tail stop` waited for its ack, sent one after another while `parse` runs
    (for at least `at_least` s). Each is timed from the end of the one before, so a stall of the whole
    process counts wherever it lands, in a request or between two."""
    done = threading.Event()

    def work() -> None:
        until = time.monotonic() + at_least
        while time.monotonic() < until:
            parse()
        done.set()

    acks = []
    last = time.monotonic()  # before the parse starts: it may take the GIL at once
    threading.Thread(target=work, name="hostile-parse", daemon=True).start()
    while True:
        finished = done.is_set()  # read before the send: one more ack closes a stall that hid here
        form = slash_command_form("/tail", "stop", standin.new_response_url())
        assert send_signed(events_url, SECRET, form).status == 200
        now = time.monotonic()
        acks.append(now - last)
        last = now
        if finished:
            return acks


def acks_table(seconds: float, baseline_kb: int) -> None:
    ours_lines = [make(256 * 1024) for make in SHAPES.values()]
    base_line = SHAPES["REPORT then letters"](baseline_kb * 1024)
    rows = []
    with (
        tempfile.TemporaryDirectory(prefix="opsbot-bench-") as state_dir,
        SlackStandIn() as standin,
        served_bot(standin, state_dir) as events_url,
    ):
        send_signed(events_url, SECRET, slash_command_form("/tail", "stop", standin.new_response_url()))  # warm
        for name, parse in [
            ("none (idle)", lambda: time.sleep(0.05)),
            ("ours, every shape at 256 KB", lambda: [parse_message(line) for line in ours_lines]),
            (f"re baseline, one {baseline_kb} KB line", lambda: baseline_fields(base_line)),
        ]:
            acks = sorted(acks_while(parse, events_url, standin, seconds))
            late = sum(1 for a in acks if a >= SLACK_ACK_LIMIT)
            rows.append([name, str(len(acks)), str(late), ms(acks[len(acks) // 2]), ms(acks[-1])])
    print_table(["parsing meanwhile", "acks", "acks >= 3 s", "median ack", "max ack"], rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="parses per figure; the least is shown")
    parser.add_argument("--baseline-kb", default="8,16,32", help="sizes to run the quadratic baseline at")
    parser.add_argument("--ack-seconds", type=float, default=5.0, help="how long to parse while acks are sent")
    args = parser.parse_args(argv)
    baseline_kb = [int(kb) for kb in args.baseline_kb.split(",") if kb]
    logging.basicConfig(level=logging.ERROR)
    use_fake_credentials()
    gc.collect()

    print("$ python " + " ".join([os.path.relpath(__file__, ROOT), *(argv if argv is not None else sys.argv[1:])]))
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}\n")
    shapes_table(args.runs)
    report_table(args.runs, baseline_kb)
    acks_table(args.ack_seconds, max(baseline_kb))


if __name__ == "__main__":
    main()
