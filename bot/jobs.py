"""Background jobs inside `opsbot serve`: each runs on its own daemon thread at a fixed interval.

A job that raises is logged and runs again at its next tick; it never takes the server down.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.app import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    interval_seconds: float
    run: Callable[[], None]


def run_forever(job: Job, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            job.run()
        except Exception:
            log.exception("background job %s failed; retrying in %ss", job.name, job.interval_seconds)
        stop.wait(job.interval_seconds)


def start(jobs: list[Job], stop: threading.Event | None = None) -> threading.Event:
    stop = stop or threading.Event()
    for job in jobs:
        threading.Thread(target=run_forever, args=(job, stop), name=f"job-{job.name}", daemon=True).start()
        log.info("background job %s every %ss", job.name, job.interval_seconds)
    return stop


def configured_jobs(runtime: Runtime, client: WebClient) -> list[Job]:
    """The jobs the settings turn on."""
    from bot.capacity_monitor import monitor_interval, run_capacity_check, slack_poster

    jobs: list[Job] = []
    interval = monitor_interval(runtime.settings)
    if interval:
        post = slack_poster(client)

        def check_capacity() -> None:
            run_capacity_check(runtime.aws, runtime.store, runtime.settings, post)

        jobs.append(Job("lambda-capacity", interval, check_capacity))
    return jobs


def start_background_jobs(runtime: Runtime, client: WebClient) -> threading.Event:
    return start(configured_jobs(runtime, client))
