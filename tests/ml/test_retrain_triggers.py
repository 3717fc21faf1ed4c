"""Retraining that follows the data: the 15-minute check queues `new_data` and `drift` runs
(and a shop's first models once it has the history for them), runs record their trigger, and
bad thresholds or unknown triggers change nothing."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from ml_shop import paid_copy, train_simulated_shop, wait_for_run
from support import FIXED_NOW, LambdaClient, make_admin


def _copy_orders(share: float, *, at_now: bool) -> int:
    """Copies of `share` of the orders: placed now (new data), or an hour after each original
    in the last 30 days (a promotion that doubles order rates, before the run's data end)."""
    from sqlalchemy import select

    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.models import Order

    now = utcnow()
    with session_scope() as session:
        query = select(Order).order_by(Order.id)
        if not at_now:
            query = query.where(Order.created_at >= now - timedelta(days=30))
        orders = session.scalars(query).all()
        chosen = orders[: int(len(orders) * share) + 1] if at_now else orders
        for order in chosen:
            later = min(order.created_at + timedelta(hours=1), now - timedelta(minutes=1))
            session.add(paid_copy(order, now if at_now else later))
        return len(chosen)


def _runs() -> list[tuple[int, str, str]]:
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import TrainingRun

    with session_scope() as session:
        rows = session.execute(
            select(TrainingRun.id, TrainingRun.trigger, TrainingRun.status).order_by(TrainingRun.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _console(caplog: Any) -> list[str]:
    """The lines the local scheduler printed."""
    return [r.getMessage() for r in caplog.records if r.name == "shopfn.scheduler"]


def _check_event() -> dict[str, Any]:
    """The check as the 15-minute rule (and the local scheduler) sends it to the handler."""
    from shopfn.gateway import invoke
    from shopfn.manifest import load_manifest
    from shopfn.scheduler import CHECK_EVENT

    return invoke(load_manifest().get("retrain"), dict(CHECK_EVENT))


def test_new_data_past_the_share_queues_a_new_data_run(
    client: LambdaClient, model_bucket: str, caplog: Any, monkeypatch: Any
) -> None:
    from shop.ml.config import get_ml_settings
    from shopfn.scheduler import start_check_scheduler

    token = train_simulated_shop(client)
    quiet = client.post("/ml/retrain/check", json={}, token=token)
    assert quiet.status == 200, quiet.body
    body = quiet.json()
    assert (body["trigger"], body["run_id"], body["new_orders"]) == (None, None, 0)
    assert body["orders"] > 0 and body["drift_psi"] < 0.25  # a fresh champion: no drift
    monkeypatch.setenv("RETRAIN_CHECK_SCHEDULE", "every:3600")
    get_ml_settings.cache_clear()
    scheduler = start_check_scheduler()  # fired by hand below, as its thread would
    assert scheduler is not None
    caplog.set_level(logging.INFO, logger="shopfn.scheduler")
    try:
        assert scheduler.fire() == {"trigger": None, "run_id": None, "first_models": False}
        assert _console(caplog) == []  # nothing new: nothing printed

        added = _copy_orders(0.3, at_now=True)
        assert added > 0.25 * body["orders"]
        result = scheduler.fire()
        assert result is not None and result["trigger"] == "new_data", result
        scheduler.follow_run(result["run_id"], poll_seconds=0.05)
    finally:
        scheduler.stop()
        get_ml_settings.cache_clear()
    assert wait_for_run(result["run_id"]) == "succeeded"

    runs = client.get("/ml/retrain/runs", params={"trigger": "new_data"}, token=token).json()
    assert [(r["run_id"], r["trigger"]) for r in runs["items"]] == [(result["run_id"], "new_data")]
    run = client.get(f"/ml/retrain/runs/{result['run_id']}", token=token).json()
    assert run["metrics"]["data"]["orders"] == body["orders"] + added
    ending = (
        "new models in use." if run["promoted"] else "the models in use did as well, so they stay."
    )
    assert _console(caplog) == [
        "Enough new orders and activity since the models were trained: training new models now "
        f"(run {result['run_id']}).",
        f"Retrain for the new data finished: {ending}",
    ]

    after = client.post("/ml/retrain/check", json={}, token=token).json()
    assert (after["trigger"], after["baseline_run_id"]) == (None, result["run_id"])
    assert [trigger for _, trigger, _ in _runs()] == ["manual", "new_data"]


def _simulated_history(users: int = 90) -> None:
    from shop.db import session_scope
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=users, days=200, seed=8)


def test_a_shop_without_models_gets_its_first_ones_once_it_has_the_history(
    client: LambdaClient, model_bucket: str
) -> None:
    token = make_admin(client).access_token
    empty = client.post("/ml/retrain/check", json={}, token=token)
    assert empty.status == 200, empty.body
    body = empty.json()
    assert (body["trigger"], body["run_id"], body["baseline_run_id"]) == (None, None, None)
    assert "only 0 customers have orders" in body["reason"], body["reason"]
    assert "the first models need 50" in body["reason"]
    assert _runs() == []

    _simulated_history()
    first = _check_event()  # as the 15-minute rule sends it
    assert (first["trigger"], first["first_models"]) == ("new_data", True), first
    assert wait_for_run(first["run_id"]) == "succeeded"
    champions = client.get("/ml/models", token=token).json()
    assert {m["name"] for m in champions if m["is_champion"]} == {"churn", "spend"}

    after = client.post("/ml/retrain/check", json={}, token=token).json()
    assert (after["trigger"], after["baseline_run_id"]) == (None, first["run_id"])
    assert _runs() == [(first["run_id"], "new_data", "succeeded")]


def test_the_check_tries_a_shops_first_models_only_once(client: LambdaClient) -> None:
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.runs import mark_finished
    from shop.ml.triggers import Thresholds, run_check

    _simulated_history()
    started: list[int] = []

    def check() -> dict[str, Any]:
        with session_scope() as session:
            return run_check(
                session,
                utcnow(),
                Thresholds.from_settings(),
                ArtifactStore.from_settings(),
                started.append,
            )

    first = check()
    assert first["trigger"] == "new_data" and started == [first["run_id"]]
    with session_scope() as session:  # the run failed (out of memory, say): the models wait
        mark_finished(session, first["run_id"], "failed", reason="MemoryError")
    again = check()
    assert (again["trigger"], again["run_id"]) == ("new_data", None)
    assert f"run {first['run_id']} was already queued for it" in again["reason"]
    assert started == [first["run_id"]]  # no second run: the nightly one is next
    assert _runs() == [(first["run_id"], "new_data", "failed")]


def test_a_doubled_order_rate_queues_a_drift_run_once(
    client: LambdaClient, model_bucket: str, monkeypatch: Any
) -> None:
    import time_machine

    import shop.ml.retraining as retraining

    token = train_simulated_shop(client)
    _copy_orders(1.0, at_now=False)
    # The drift run is kept queued: a second check must not queue another for the same data.
    monkeypatch.setattr(retraining, "mark_running", lambda session, run_id: False)
    with time_machine.travel(FIXED_NOW + timedelta(minutes=20), tick=True):
        # Every scheduled check judges drift, not only the first of each hour.
        scheduled = _check_event()
    assert scheduled["trigger"] == "drift" and scheduled["run_id"] is not None, scheduled
    assert [trigger for _, trigger, _ in _runs()] == ["manual", "drift"]
    found = client.post("/ml/retrain/check", json={}, token=token).json()
    assert found["trigger"] == "drift", found
    assert found["drift_feature"].startswith("orders_") and found["drift_psi"] > 0.25
    assert found["new_orders"] == 0  # every copy is older than the run's data
    assert found["run_id"] is None and f"run {scheduled['run_id']}" in found["reason"]
    assert [trigger for _, trigger, _ in _runs()] == ["manual", "drift"]


def test_bad_thresholds_and_unknown_triggers_get_422_and_change_nothing(
    client: LambdaClient,
) -> None:
    admin = make_admin(client)
    token = admin.access_token
    for body in (
        {"new_data_share": 0},
        {"new_data_share": -0.5},
        {"new_data_share": 11},
        {"drift_psi": 0},
        {"drift_psi": "high"},
    ):
        reply = client.post("/ml/retrain/check", json=body, token=token)
        assert reply.status == 422 and reply.is_problem, (body, reply.body)
    for body in ({"trigger": "nightly"}, {"trigger": "drift"}, {"trigger": "schedule"}):
        reply = client.post("/ml/retrain", json=body, token=token)
        assert reply.status == 422 and reply.is_problem, (body, reply.body)
    listed = client.get("/ml/retrain/runs", params={"trigger": "cron"}, token=token)
    assert listed.status == 422 and listed.is_problem
    assert _runs() == []
    untrained = client.post("/ml/retrain/check", json={"drift_psi": 0.5}, token=token)
    assert untrained.status == 200
    assert untrained.json()["trigger"] is None and untrained.json()["drift_psi_threshold"] == 0.5
    assert _runs() == []


def test_the_local_scheduler_sends_the_check_event_on_its_own_schedule(monkeypatch: Any) -> None:
    import threading

    import shopfn.scheduler as scheduler
    from shop.ml.config import get_ml_settings

    sent: list[tuple[str, dict]] = []
    fired = threading.Event()

    def fake_invoke(spec: Any, event: dict) -> dict:
        sent.append((spec.name, event))
        fired.set()
        return {}

    monkeypatch.setattr(scheduler, "invoke", fake_invoke)
    monkeypatch.setenv("RETRAIN_CHECK_SCHEDULE", "off")
    get_ml_settings.cache_clear()
    assert scheduler.start_check_scheduler() is None
    monkeypatch.setenv("RETRAIN_CHECK_SCHEDULE", "every:0.05")
    get_ml_settings.cache_clear()
    job = scheduler.start_check_scheduler()
    assert job is not None
    try:
        assert fired.wait(10)
    finally:
        job.stop()
        get_ml_settings.cache_clear()
    assert sent[0] == ("retrain", {"shopfn_retrain_check": True})
    monkeypatch.delenv("RETRAIN_CHECK_SCHEDULE")
    assert get_ml_settings().retrain_check_schedule == "every:900"  # the default
    get_ml_settings.cache_clear()


def test_the_openapi_names_the_four_triggers_and_the_check(client: LambdaClient) -> None:
    reply = client.get("/ml/retrain/openapi.json")
    assert reply.status == 200
    spec = reply.json()
    triggers = ["schedule", "manual", "new_data", "drift"]
    assert spec["components"]["schemas"]["RunOut"]["properties"]["trigger"]["enum"] == triggers
    (query,) = [
        p for p in spec["paths"]["/ml/retrain/runs"]["get"]["parameters"] if p["name"] == "trigger"
    ]
    assert triggers == next(s["enum"] for s in query["schema"]["anyOf"] if "enum" in s)
    check = spec["paths"]["/ml/retrain/check"]["post"]
    assert check["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CheckOut"
    }
    bounds = spec["components"]["schemas"]["CheckIn"]["properties"]["new_data_share"]["anyOf"][0]
    assert (bounds["exclusiveMinimum"], bounds["maximum"]) == (0, 10)
