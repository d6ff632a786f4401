"""Claiming a prune plan: exactly one press wins, even when presses race in separate stores
(as two Lambda invocations would, each with its own connection to the same state)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from bot.state import Store
from commands.lambda_capacity.prune import PlanExpired, PlanUsed, claim_plan
from commands.lambda_capacity.storage import PLAN_NAMESPACE, PrunePlan


def _plan(created_at: float) -> PrunePlan:
    return PrunePlan(id="p1", region="us-east-1", keep=3, requested_by="U0ADMIN", created_at=created_at, candidates=())


def _stored(store: Store, created_at: float) -> None:
    store.put(PLAN_NAMESPACE, "p1", {"plan": _plan(created_at).to_json(), "used_by": None, "outcome": None})


def test_racing_presses_in_separate_stores_claim_the_plan_once(tmp_path: Path) -> None:
    path = str(tmp_path / "state.db")
    _stored(Store.open(path), time.time())
    start = threading.Barrier(8)
    results: list[object] = []

    def press(n: int) -> None:
        store = Store.open(path)  # a connection of its own, like another process
        start.wait()
        results.append(claim_plan(store, "p1", f"U0ADMIN{n}", "carried out", time.time()))

    threads = [threading.Thread(target=press, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [r for r in results if isinstance(r, PrunePlan)]
    assert len(winners) == 1
    assert all(isinstance(r, PlanUsed) for r in results if r is not winners[0])
    record = Store.open(path).get(PLAN_NAMESPACE, "p1")
    assert record is not None and record.value["outcome"] == "carried out"


def test_an_old_plan_is_used_up_as_expired(tmp_path: Path) -> None:
    store = Store.open(str(tmp_path / "state.db"))
    _stored(store, time.time() - 3600)
    assert isinstance(claim_plan(store, "p1", "U0ADMIN", "carried out", time.time()), PlanExpired)
    used = claim_plan(store, "p1", "U0ADMIN", "carried out", time.time())
    assert isinstance(used, PlanUsed) and used.outcome == "expired"
    assert claim_plan(store, "nope", "U0ADMIN", "carried out", time.time()) is None
