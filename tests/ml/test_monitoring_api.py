"""Analytics and monitoring endpoints, and a tampered model refused by the predict function."""

from __future__ import annotations

from datetime import timedelta

from ml_shop import train_simulated_shop
from support import LambdaClient, make_admin, sign_up


def test_monitoring_shows_runs_champions_drift_and_backtest(
    client: LambdaClient, model_bucket: str
) -> None:
    token = train_simulated_shop(client)
    runs = client.get("/ml/monitoring/runs", token=token)
    assert runs.status == 200
    (run,) = runs.json()
    assert run["status"] == "succeeded" and run["churn"]["auc"] is not None
    assert run["spend"]["rmse"] is not None

    champions = client.get("/ml/monitoring/champions", token=token).json()
    assert {c["name"] for c in champions} == {"churn", "spend"}
    assert all(c["is_champion"] for c in champions)

    drift = client.get("/ml/monitoring/drift", params={"model": "churn"}, token=token)
    assert drift.status == 200
    features = drift.json()["features"]
    assert {"feature", "psi", "level"} <= set(features[0])
    assert [f["psi"] for f in features] == sorted((f["psi"] for f in features), reverse=True)
    assert client.get("/ml/monitoring/drift", params={"model": "x"}, token=token).status == 422

    backtest = client.get("/ml/monitoring/backtest", token=token)
    assert backtest.status == 200, backtest.body
    body = backtest.json()
    assert body["complete"] is True and body["users"] > 0
    assert body["churn"]["auc"] > 0.5
    assert body["spend"]["mae"] >= 0
    naive = client.get(
        "/ml/monitoring/backtest", params={"cutoff": "2026-01-01T00:00:00"}, token=token
    )
    assert naive.status == 422


def test_behavior_analytics_counts_events_per_day_and_the_funnel(
    client: LambdaClient, model_bucket: str
) -> None:
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.models import BehaviorEvent

    admin = make_admin(client)
    shopper = sign_up(client)
    now = utcnow()
    with session_scope() as session:
        for kind, ago in (
            ("product_view", 1),
            ("product_view", 1),
            ("cart_add", 1),
            ("checkout", 0),
            ("product_view", 40),
        ):
            session.add(
                BehaviorEvent(
                    user_id=shopper.id,
                    event_type=kind,
                    payload={},
                    occurred_at=now - timedelta(days=ago),
                )
            )
    reply = client.get("/ml/analytics/behavior", params={"days": 30}, token=admin.access_token)
    assert reply.status == 200
    body = reply.json()
    assert body["totals"]["product_view"] == 2  # the one 40 days ago is outside the window
    assert body["totals"]["cart_add"] == 1 and body["totals"]["checkout"] == 1
    yesterday = (now - timedelta(days=1)).date().isoformat()
    assert {"day": yesterday, "event_type": "product_view", "count": 2} in body["counts"]
    assert [s["users"] for s in body["funnel"]] == [1, 1, 1]
    assert body["funnel"][2]["rate_from_previous"] == 1.0
    assert client.get("/ml/analytics/behavior", token=shopper.access_token).status == 403
    assert (
        client.get("/ml/analytics/behavior", params={"days": 0}, token=admin.access_token).status
        == 422
    )


def test_a_tampered_champion_is_refused_with_503(client: LambdaClient, model_bucket: str) -> None:
    import boto3

    from shop.ml.predictor import champions

    token = train_simulated_shop(client)
    s3 = boto3.client("s3")
    pointer = s3.get_object(Bucket=model_bucket, Key="models/churn/champion.json")["Body"].read()
    import json

    version = json.loads(pointer)["version"]
    prefix = f"models/churn/{version}/"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=model_bucket, Prefix=prefix)["Contents"]]
    # A gradient-boosting champion has model files; a baseline champion (which the simulated
    # history of some dates makes the winner) has its parameters in the metadata only.
    model_files = [key for key in keys if not key.endswith("metadata.json")]
    target = model_files[0] if model_files else f"{prefix}metadata.json"
    s3.put_object(Bucket=model_bucket, Key=target, Body=b"not the model we trained")
    champions.clear()
    user = sign_up(client)
    reply = client.get(f"/ml/predictions/users/{user.id}", token=token)
    assert reply.status == 503 and reply.is_problem
    assert "cannot be loaded safely" in reply.json()["detail"]
