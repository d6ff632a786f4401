"""Background jobs inside `opsbot serve`: the jobs features declare, each on its own daemon thread.

Every replica (the Procfile's web: and worker:, or more) runs these threads, so a job runs under a
lease in the state store: one record per job naming its holder, until when it holds it, and the
last tick it took. A replica wakes at each tick of the job's interval and runs the job only if it
wins the lease (Store.claim) for a tick later than the last one taken and nobody holds it; while
the run goes on, a heartbeat renews the lease, and the run's end releases it. So a run slower than
its interval is never joined by a second replica, and a tick runs at most once. A replica that
dies mid-run leaves its lease to expire. A job that raises is logged and runs again at its next
tick; it never takes the server down.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from bot.accounts import Account
from bot.aws import AWS_ERRORS, describe_aws_error
from bot.command import CommandContext, Job, SlashCommand, job_context
from bot.runtime import Runtime
from bot.slack.delivery import SlackDelivery
from bot.state import Store, StoreError

log = logging.getLogger(__name__)

NAMESPACE = "job-leases"
LEASE_SECONDS = 30.0  # how long a dead replica's run blocks the job; renewed three times as often

Lease = dict[str, Any]
_FREE: Lease = {"holder": "", "until": 0.0, "tick": -1}


def take_run(store: Store, name: str, tick: float, holder: str, now: float, seconds: float) -> Lease | None:
    """The lease, if this replica now holds job `name` for the tick starting at `tick` (epoch seconds: a
    changed interval still compares); None if another holds it or a tick this late was taken."""
    store.add(NAMESPACE, name, _FREE)
    stored = store.get(NAMESPACE, name)
    current = stored.value if stored is not None and isinstance(stored.value, dict) else None
    if current is None or not isinstance(current.get("tick"), int | float) or current["tick"] >= tick:
        return None
    if current.get("holder") and float(current.get("until", 0)) > now:
        return None
    mine = {"holder": holder, "until": now + seconds, "tick": tick}
    return mine if store.claim(NAMESPACE, name, current, mine) else None


def renew(store: Store, name: str, lease: Lease, now: float, seconds: float) -> Lease | None:
    """The lease held `seconds` longer; None if it is no longer this replica's (it expired and was taken)."""
    longer = {**lease, "until": now + seconds}
    return longer if store.claim(NAMESPACE, name, lease, longer) else None


@contextmanager
def holding(store: Store, name: str, lease: Lease, seconds: float) -> Iterator[None]:
    """Keep the lease while the body runs; release it at the end (the tick stays taken)."""
    held = [lease]
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(seconds / 3):
            try:
                renewed = renew(store, name, held[0], time.time(), seconds)
            except StoreError as exc:
                log.warning("background job %s: cannot renew its lease (%s)", name, exc)
                continue
            if renewed is None:
                log.warning("background job %s: its lease was lost; its writes are compare-and-set", name)
                return
            held[0] = renewed

    beat = threading.Thread(target=heartbeat, name=f"lease-{name}", daemon=True)
    beat.start()
    try:
        yield
    finally:
        done.set()
        beat.join()
        try:
            store.claim(NAMESPACE, name, held[0], {**held[0], "holder": "", "until": 0.0})
        except StoreError as exc:  # the lease expires by itself
            log.warning("background job %s: cannot release its lease (%s)", name, exc)


def run_forever(
    job: Job,
    interval: float,
    runtime: Runtime,
    delivery: SlackDelivery,
    stop: threading.Event,
    lease_seconds: float = LEASE_SECONDS,
) -> None:
    ctx = runtime.context(f"job:{job.name}", "", post=delivery.post)
    holder = f"{os.getpid()}:{threading.get_ident()}"
    while not stop.is_set():
        try:
            now = time.time()
            tick = math.floor(now / interval) * interval
            lease = take_run(runtime.store, job.name, tick, holder, now, lease_seconds)
            if lease is not None:
                with holding(runtime.store, job.name, lease, lease_seconds):
                    accounts = runtime.settings.accounts.accounts.values() if job.per_account else ()
                    for account in accounts or [None]:
                        _run_once(job, ctx, account)
        except StoreError as exc:
            log.warning("background job %s skips a tick: the state store failed (%s)", job.name, exc)
        except Exception:
            log.exception("background job %s failed; retrying in %ss", job.name, interval)
        stop.wait(interval - time.time() % interval)  # to the next tick's start, as every replica does


def _run_once(job: Job, ctx: CommandContext, account: Account | None) -> None:
    """One account's run: a role that cannot be assumed, or an AWS failure, skips only that account."""
    if account is None:
        job.run(ctx)
        return
    try:
        job.run(job_context(ctx, account))
    except AWS_ERRORS as exc:
        log.error("background job %s in account %s: %s", job.name, account.name, describe_aws_error(exc))


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
