"""Background jobs inside `opsbot serve`: the jobs features declare, each on its own daemon thread.

A job that raises is logged and runs again at its next tick; it never takes the server down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence

from bot.command import Job, SlashCommand
from bot.runtime import Runtime
from bot.slack.delivery import SlackDelivery

log = logging.getLogger(__name__)


def run_forever(job: Job, interval: float, runtime: Runtime, delivery: SlackDelivery, stop: threading.Event) -> None:
    ctx = runtime.context(f"job:{job.name}", "", post=delivery.post)
    while not stop.is_set():
        try:
            job.run(ctx)
        except Exception:
            log.exception("background job %s failed; retrying in %ss", job.name, interval)
        stop.wait(interval)


def configured_jobs(commands: Sequence[SlashCommand], runtime: Runtime) -> list[tuple[Job, float]]:
    """The declared jobs these settings turn on, with their intervals."""
    found = []
    for command in commands:
        for job in command.jobs:
            interval = job.interval(runtime.settings)
            if interval:
                found.append((job, interval))
    return found


def start_background_jobs(
    commands: Sequence[SlashCommand], runtime: Runtime, delivery: SlackDelivery, stop: threading.Event | None = None
) -> threading.Event:
    stop = stop or threading.Event()
    for job, interval in configured_jobs(commands, runtime):
        args = (job, interval, runtime, delivery, stop)
        threading.Thread(target=run_forever, args=args, name=f"job-{job.name}", daemon=True).start()
        log.info("background job %s every %ss", job.name, interval)
    return stop
