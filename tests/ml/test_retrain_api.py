"""Training runs through the retrain function: manual, scheduled, concurrent, failing, too small."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from ml_shop import wait_for_run
from support import LambdaClient, make_admin, sign_up

SCHEDULED_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
    "detail-type": "Scheduled Event",
    "source": "aws.events",
    "account": "123456789012",
    "time": "2026-11-25T03:00:00Z",
    "region": "us-east-1",
    "resources": ["arn:aws:events:us-east-1:123456789012:rule/shopfn-nightly-retrain"],
    "detail": {},
}


def _retrain_handler() -> Any:
    from shopfn.loader import load_handler
    from shopfn.manifest import load_manifest

    return load_handler(load_manifest().get("retrain"))


def _context() -> Any:
    from shopfn.lambda_context import LocalLambdaContext

    return LocalLambdaContext(function_name="shopfn-retrain", timeout_seconds=900)


def _simulate(users: int = 90, days: int = 200) -> None:
    from shop.db import session_scope
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        simulate(session, users=users, days=days, seed=3)


def _runs() -> list[tuple[str, str, str | None]]:
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import TrainingRun

    with session_scope() as session:
        return [
            (r.trigger, r.status, r.reason)
            for r in session.scalars(select(TrainingRun).order_by(TrainingRun.id))
        ]


def test_manual_retrain_trains_promotes_and_serves_predictions(
    client: LambdaClient, model_bucket: str
) -> None:
    import boto3

    _simulate()
    admin = make_admin(client)
    shopper = sign_up(client)
    before = client.get(f"/ml/predictions/users/{shopper.id}", token=admin.access_token)
    assert before.status == 503 and before.is_problem
    assert "retrain" in before.json()["detail"]

    started = client.post("/ml/retrain", json={}, token=admin.access_token)
    assert started.status == 202, started.body
    body = started.json()
    assert body["status"] == "queued"
    assert started.headers["location"] == f"/ml/retrain/runs/{body['run_id']}"
    assert wait_for_run(body["run_id"]) == "succeeded"

    run = client.get(f"/ml/retrain/runs/{body['run_id']}", token=admin.access_token).json()
    assert run["trigger"] == "manual" and run["promoted"] is True
    assert run["metrics"]["churn"]["candidates"]["gbm"]["auc"] is not None
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=model_bucket)["Contents"]}
    assert {"models/churn/champion.json", "models/spend/champion.json"} <= keys

    models = client.get("/ml/models", token=admin.access_token).json()
    assert {m["name"] for m in models if m["is_champion"]} == {"churn", "spend"}

    mine = client.get(f"/ml/predictions/users/{shopper.id}", token=shopper.access_token)
    assert mine.status == 200, mine.body
    prediction = mine.json()
    assert 0 <= prediction["churn_probability"] <= 1
    assert prediction["churn_risk"] in ("low", "medium", "high")
    assert prediction["predicted_spend_30d"].count(".") == 1
    assert set(prediction["model_versions"]) == {"churn", "spend"}


def test_unknown_users_are_404_and_customers_see_only_themselves(
    client: LambdaClient, model_bucket: str
) -> None:
    _simulate()
    admin = make_admin(client)
    started = client.post("/ml/retrain", json={}, token=admin.access_token)
    assert wait_for_run(started.json()["run_id"]) == "succeeded"
    shopper, other = sign_up(client), sign_up(client)
    unknown = client.get("/ml/predictions/users/999999", token=admin.access_token)
    assert unknown.status == 404 and unknown.is_problem
    peeking = client.get(f"/ml/predictions/users/{other.id}", token=shopper.access_token)
    assert peeking.status == 404
    batch = client.post(
        "/ml/predictions/batch",
        json={"user_ids": [shopper.id, 999999, other.id]},
        token=admin.access_token,
    )
    assert batch.status == 200
    assert [p["user_id"] for p in batch.json()["predictions"]] == [shopper.id, other.id]
    assert batch.json()["not_found"] == [999999]
    too_many = client.post(
        "/ml/predictions/batch", json={"user_ids": list(range(1, 1002))}, token=admin.access_token
    )
    assert too_many.status == 422
    risky = client.get("/ml/predictions/at-risk", params={"limit": 5}, token=admin.access_token)
    probabilities = [p["churn_probability"] for p in risky.json()]
    assert len(probabilities) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert client.get("/ml/predictions/at-risk", token=shopper.access_token).status == 403


def test_scheduled_event_produces_a_schedule_run(client: LambdaClient, model_bucket: str) -> None:
    _simulate()
    result = _retrain_handler()(dict(SCHEDULED_EVENT), _context())
    assert _runs()[-1][:2] == ("schedule", "succeeded")
    assert result["run_id"] >= 1


def test_concurrent_manual_triggers_give_one_run(
    client: LambdaClient, model_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shop.ml.retraining as retraining

    gate = threading.Event()
    real = retraining.train_and_promote

    def held(*args: Any, **kwargs: Any) -> Any:
        gate.wait(60)  # keep the first run active until every trigger has been answered
        return real(*args, **kwargs)

    monkeypatch.setattr(retraining, "train_and_promote", held)
    admin = make_admin(client)
    replies: list[Any] = []

    def trigger() -> None:
        replies.append(client.post("/ml/retrain", json={}, token=admin.access_token))

    threads = [threading.Thread(target=trigger) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gate.set()
    assert sorted(r.status for r in replies) == [202, 409, 409, 409, 409, 409]
    assert all(r.is_problem for r in replies if r.status == 409)
    (accepted,) = [r.json()["run_id"] for r in replies if r.status == 202]
    assert len(_runs()) == 1
    assert wait_for_run(accepted) == "skipped"  # an empty shop: nothing to learn from


def test_scheduled_run_while_another_is_active_is_recorded_skipped(
    client: LambdaClient, model_bucket: str
) -> None:
    from shop.db import session_scope
    from shop.ml.runs import queue_run

    with session_scope() as session:
        active = queue_run(session, "manual").id
    _retrain_handler()(dict(SCHEDULED_EVENT), _context())
    runs = _runs()
    assert runs[-1][0] == "schedule" and runs[-1][1] == "skipped"
    assert f"run {active}" in (runs[-1][2] or "")
    admin = make_admin(client)
    assert client.post("/ml/retrain", json={}, token=admin.access_token).status == 409


def test_too_little_history_gives_a_skipped_run_with_the_reason(
    client: LambdaClient, model_bucket: str
) -> None:
    _simulate(users=12)
    _retrain_handler()(dict(SCHEDULED_EVENT), _context())
    trigger, status, reason = _runs()[-1]
    assert (trigger, status) == ("schedule", "skipped")
    assert "at least 50" in (reason or "")


def test_a_crashing_run_is_marked_failed_with_its_error(
    client: LambdaClient, model_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shop.ml.retraining as retraining

    def explode(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("disk full while fitting")

    monkeypatch.setattr(retraining, "fit_candidates", explode)
    _simulate()
    admin = make_admin(client)
    run_id = client.post("/ml/retrain", json={}, token=admin.access_token).json()["run_id"]
    assert wait_for_run(run_id) == "failed"
    run = client.get(f"/ml/retrain/runs/{run_id}", token=admin.access_token).json()
    assert "disk full while fitting" in run["reason"] and run["finished_at"] is not None
    assert client.post("/ml/retrain", json={}, token=admin.access_token).status == 202


def test_in_aws_the_manual_trigger_invokes_itself_asynchronously(
    client: LambdaClient, model_bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    calls: list[dict[str, Any]] = []

    class FakeLambda:
        def invoke(self, **kwargs: Any) -> dict[str, Any]:
            calls.append(kwargs)
            return {"StatusCode": 202}

    _retrain_handler()  # loads the function's package, whichever test ran before this one
    dispatch = importlib.import_module("_shopfn_function_retrain.dispatch")
    monkeypatch.setattr(dispatch, "_lambda_client", FakeLambda)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "shopfn-retrain")
    _simulate()
    admin = make_admin(client)
    reply = client.post("/ml/retrain", json={}, token=admin.access_token)
    assert reply.status == 202
    assert _runs()[-1][1] == "queued"  # nothing ran in the HTTP request
    (call,) = calls
    assert call["FunctionName"] == "shopfn-retrain" and call["InvocationType"] == "Event"
    payload = json.loads(call["Payload"])
    # Lambda then delivers that payload to the same function:
    _retrain_handler()(payload, _context())
    assert _runs()[-1][:2] == ("manual", "succeeded")


def test_runs_are_admin_only_and_paged(client: LambdaClient, model_bucket: str) -> None:
    shopper = sign_up(client)
    assert client.post("/ml/retrain", json={}, token=shopper.access_token).status == 403
    assert client.post("/ml/retrain", json={}).status == 401
    admin = make_admin(client)
    page = client.get("/ml/retrain/runs", params={"page_size": 5}, token=admin.access_token)
    assert page.status == 200 and page.json()["page_size"] == 5
    assert client.get("/ml/retrain/runs/12345", token=admin.access_token).status == 404
