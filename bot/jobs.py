"""Background jobs inside `opsbot serve`: the jobs features declare, each on its own daemon thread.

Every replica (the Procfile's web: and worker:, or more) runs these threads, so each tick is
leased in the state store first: time is cut into ticks of the job's interval, and only the
replica whose Store.add of "<job>:<tick>" wins runs that tick. A replica that dies mid-tick
leaves the lease to expire with the tick. A job that raises is logged and runs again at its
next tick; it never takes the server down.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Sequence

from bot.command import Job, SlashCommand
from bot.runtime import Runtime
from bot.slack.delivery import SlackDelivery
from bot.state import Store, StoreError

log = logging.getLogger(__name__)

NAMESPACE = "job-ticks"


def take_tick(store: Store, job: Job, interval: float, now: float, holder: str) -> bool:
    """True if this replica is the one to run the tick `now` falls in."""
    tick = math.floor(now / interval)
    return store.add(NAMESPACE, f"{job.name}:{tick}", {"holder": holder}, expires_at=(tick + 1) * interval)


def run_forever(job: Job, interval: float, runtime: Runtime, delivery: SlackDelivery, stop: threading.Event) -> None:
    ctx = runtime.context(f"job:{job.name}", "", post=delivery.post)
    holder = f"{os.getpid()}:{threading.get_ident()}"
    while not stop.is_set():
        try:
            if take_tick(runtime.store, job, interval, time.time(), holder):
                job.run(ctx)
        except StoreError as exc:
            log.warning("background job %s skips a tick: the state store failed (%s)", job.name, exc)
        except Exception:
            log.exception("background job %s failed; retrying in %ss", job.name, interval)
        stop.wait(interval - time.time() % interval)  # to the next tick's start, as every replica does


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
