"""`opsbot demo`: the embedded local default. No Slack workspace, no AWS account.

It starts moto's server filled with demo resources, the Slack stand-in, and the bot in HTTP
mode on loopback; sends signed slash commands through the real HTTP stack; prints the
transcript; and writes it as HTML (with any images) under ./opsbot-demo/.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.local.aws import local_aws
from bot.local.demo_accounts import ACCOUNTS_CONFIG, accounts_scene
from bot.local.demo_home import home_scene
from bot.local.demo_html import write_html
from bot.local.demo_scores import SCORES_CONFIG, scores_scene
from bot.local.demo_ssh import ssh_scene
from bot.local.demo_tail import TAIL_CONFIG, follow_scene, forwarder_scene, tail_scene
from bot.local.slack_requests import button_press_form, send_signed, slash_command_form
from bot.local.slack_standin import SlackStandIn
from bot.slack.blocks import buttons, payload_text

ADMIN = "U0ADMIN"
ENGINEER = "U0ENGINEER"
CHANNEL = "C0DEMO"


@dataclass
class Entry:
    """One exchange of the transcript: what a user did, and what they saw."""

    who: str
    said: str
    ack: str = ""
    replies: list[dict[str, Any]] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    note: str = ""


@dataclass
class DemoClock:
    """The bot's time in the demo: the real time, plus what a scene skips (a game's polls, seconds apart)."""

    skipped: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.skipped

    def skip(self, seconds: float) -> None:
        self.skipped += timedelta(seconds=seconds)


@dataclass
class DemoBot:
    standin: SlackStandIn
    base_url: str
    signing_secret: str
    transcript: list[Entry] = field(default_factory=list)
    clock: DemoClock = field(default_factory=DemoClock)
    runtime: Any = None  # the bot's Runtime and SlackDelivery: a scene runs a feature's job tick on them
    delivery: Any = None

    def slash(
        self, command_line: str, user: str = ENGINEER, replies: int = 1, files: int = 0, channel: str = CHANNEL
    ) -> Entry:
        command, _, text = command_line.partition(" ")
        response_url = self.standin.new_response_url(channel)
        uploads_before = set(self.standin.uploads)
        form = slash_command_form(command, text, response_url, user_id=user, channel_id=channel)
        delivery = send_signed(f"{self.base_url}/slack/events", self.signing_secret, form)
        said = command_line if channel == CHANNEL else f"[in #{channel}] {command_line}"
        entry = Entry(who=user, said=said, ack=f"HTTP {delivery.status} in {delivery.seconds * 1000:.0f} ms")
        entry.replies = self.standin.replies_to(response_url, count=replies, timeout=60)
        entry.files = self._new_files(uploads_before, files)
        self.transcript.append(entry)
        return entry

    def press(self, action_id: str, value: str, user: str, label: str) -> Entry:
        response_url = self.standin.new_response_url(CHANNEL)
        form = button_press_form(action_id, value, response_url, user_id=user, channel_id=CHANNEL)
        delivery = send_signed(f"{self.base_url}/slack/events", self.signing_secret, form)
        entry = Entry(who=user, said=f"[presses “{label}”]", ack=f"HTTP {delivery.status}")
        entry.replies = self.standin.replies_to(response_url, timeout=60)
        self.transcript.append(entry)
        return entry

    def http_get(self, path: str, token: str | None, who: str = ENGINEER) -> Entry:
        request = urllib.request.Request(self.base_url + path)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, body = response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read().decode()
        auth = ' -H "Authorization: Bearer $(cat ~/.config/opsbot/token)"' if token else ""
        entry = Entry(who=who, said=f"curl -fsS{auth} {self.base_url}{path}", ack=f"HTTP {status}")
        entry.replies = [{"text": body.rstrip(), "response_type": "http"}]
        self.transcript.append(entry)
        return entry

    def narrate(self, text: str) -> None:
        self.transcript.append(Entry(who="", said="", note=text))

    def _new_files(self, before: set[str], expected: int = 0) -> list[tuple[str, bytes]]:
        """The files shared in the demo's channel since `before`: at least `expected` (they follow the reply, paced)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = [u for fid, u in self.standin.uploads.items() if fid not in before and u.get("channel") == CHANNEL]
            if len(new) >= expected:
                return [(u["filename"], u["content"]) for u in new]
            time.sleep(0.05)
        return []


Scene = Callable[[DemoBot], None]


def _token_in(entry: Entry) -> str:
    found = re.search(r"opsbot_[A-Za-z0-9_-]+", " ".join(str(r.get("text", "")) for r in entry.replies))
    if not found:
        raise RuntimeError("the demo expected a token in the reply to /eb-ip token")
    return found.group(0)


def eb_ip_scene(bot: DemoBot) -> None:
    from bot.local.seeds import seed_eb_environments

    seed_eb_environments()
    bot.narrate("/eb-ip: the addresses of an Elastic Beanstalk environment's instances, oldest first.")
    bot.slash("/eb-ip")
    bot.slash("/eb-ip shop-prod")
    bot.slash("/eb-ip shop-prod 2")
    bot.slash("/eb-ip shop-prod-2 1")
    bot.slash("/eb-ip shop-prod 9")
    bot.slash("/eb-ip no-such-env")
    bot.slash("/eb-ip shop;rm -rf /")
    bot.narrate("An ssh ProxyCommand asks the bot's HTTP endpoint; every request needs a personal token.")
    bot.http_get("/eb/shop-prod/ip", token=None)
    token = _token_in(bot.slash("/eb-ip token"))
    bot.http_get("/eb/shop-prod/ip", token)
    bot.http_get("/eb/shop-prod/ip/2", token)
    bot.slash("/eb-ip shop-prod-2 ssh-config")


def _button(entry: Entry, action_id: str) -> tuple[str, str]:
    """The value and label of a button in the reply, as Slack would show it."""
    for reply in entry.replies:
        for button in buttons(reply.get("blocks") or []):
            if button.get("action_id") == action_id:
                return str(button.get("value", "")), str(button.get("text", {}).get("text", ""))
    shown = " / ".join(str(r.get("text", "")) for r in entry.replies)
    raise RuntimeError(f"the demo expected a {action_id} button in the reply to {entry.said}, got: {shown}")


def capacity_scene(bot: DemoBot) -> None:
    from bot.aws import AwsClients
    from bot.local.seeds_capacity import seed_demo_functions
    from commands.lambda_capacity.render import ACTION_DELETE

    seed_demo_functions(AwsClients())
    bot.narrate(
        "/lambda-capacity: Lambda code storage against the regional quota, and a prune that keeps what is in use."
    )
    bot.slash("/lambda-capacity")
    bot.slash("/lambda-capacity --top 3")
    bot.slash("/lambda-capacity prune")  # not an admin: refused
    plan = bot.slash("/lambda-capacity prune", user=ADMIN)
    value, label = _button(plan, ACTION_DELETE)
    bot.press(ACTION_DELETE, value, ENGINEER, label)  # only an admin's press counts
    bot.press(ACTION_DELETE, value, ADMIN, label)
    bot.slash("/lambda-capacity --refresh")


SCENES: list[Scene] = [
    eb_ip_scene,
    capacity_scene,
    scores_scene,
    tail_scene,
    forwarder_scene,
    follow_scene,
    ssh_scene,
    home_scene,
    accounts_scene,
]
# The demo's OPSBOT_CONFIG: the [commands.*] tables its scenes need, and its two accounts.
DEMO_CONFIG = SCORES_CONFIG + "\n" + TAIL_CONFIG + "\n" + ACCOUNTS_CONFIG


LABELS = {
    "in_channel": "opsbot",
    "ephemeral": "opsbot (only you)",
    "thread": "opsbot (in the thread)",
    "http": "→",
    "home": "Home tab",
}


def print_transcript(transcript: list[Entry]) -> None:
    for entry in transcript:
        if entry.note:
            print(f"\n== {entry.note}")
            continue
        print(f"\n{entry.who}> {entry.said}    [{entry.ack}]")
        for reply in entry.replies:
            kind = reply.get("response_type", "ephemeral")
            label = LABELS.get(kind, kind)
            blocks, attachments = reply.get("blocks") or [], reply.get("attachments") or []
            text = payload_text(str(reply.get("text", "")), blocks, attachments)
            print(f"  {label}: " + text.replace("\n", "\n    "))
        for name, content in entry.files:
            print(f"  [file {name}, {len(content)} bytes]")


def run_demo(out: Path, scenes: list[Scene] | None = None) -> int:
    import waitress

    from bot.http import OpsbotWsgi
    from bot.runtime import Runtime
    from bot.settings import load_settings
    from bot.slack.app import build_app
    from bot.slack.delivery import SlackDelivery
    from commands import COMMANDS

    # The transcript is the output; servers' request logs would drown it.
    for noisy in ("werkzeug", "botocore", "bot", "slack_bolt", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    started = time.monotonic()
    secret = secrets.token_hex(16)
    with local_aws(), SlackStandIn() as standin, tempfile.TemporaryDirectory() as state_dir:
        # The server is bound first: its address goes into OPSBOT_PUBLIC_URL (for ssh configs).
        wsgi: dict[str, OpsbotWsgi] = {}
        server = waitress.create_server(
            lambda environ, start: wsgi["app"](environ, start), host="127.0.0.1", port=0, threads=16
        )
        base_url = f"http://127.0.0.1:{server.effective_port}"
        config = Path(state_dir) / "opsbot.toml"
        config.write_text(DEMO_CONFIG)
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": standin.bot_token,
                "SLACK_SIGNING_SECRET": secret,
                "SLACK_API_URL": standin.api_url,
                "OPSBOT_STATE": str(Path(state_dir) / "opsbot.db"),
                # the README's default (UTC), so the transcript's times read as the README's do
                "OPSBOT_TIMEZONE": os.environ.get("OPSBOT_TIMEZONE") or "UTC",
                "OPSBOT_ADMINS": ADMIN,
                "OPSBOT_PUBLIC_URL": base_url,
                "OPSBOT_CONFIG": str(config),
            }
        )
        clock = DemoClock()
        runtime = replace(Runtime.from_settings(settings), clock=clock)
        delivery = SlackDelivery.configured(settings, runtime.store)
        app = build_app(runtime, COMMANDS, delivery)
        wsgi["app"] = OpsbotWsgi(runtime, app, COMMANDS)
        threading.Thread(target=server.run, daemon=True).start()
        try:
            bot = DemoBot(standin, base_url, secret, clock=clock, runtime=runtime, delivery=delivery)
            print(
                f"opsbot demo: moto at {os.environ['AWS_ENDPOINT_URL']}, Slack stand-in at {standin.api_url}, "
                f"bot at {base_url}"
            )
            for scene in scenes or SCENES:
                scene(bot)
        finally:
            server.close()
            server.task_dispatcher.shutdown()
    print_transcript(bot.transcript)
    index = write_html(bot.transcript, out)
    print(f"\nopsbot demo: {len(bot.transcript)} exchanges in {time.monotonic() - started:.0f} s; wrote {index}")
    return 0
