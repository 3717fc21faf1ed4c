"""Recommendations in a training run and in a fresh predict container (numpy only, lazily)."""

from __future__ import annotations

import textwrap

from ml_shop import TrainedShop
from support import run_python_script

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from sqlalchemy import create_engine, text
    from shopfn.gateway import invoke
    from shopfn.apigw import build_event
    from shopfn.manifest import load_manifest
    from shop.tokens import issue_access_token

    engine = create_engine(sys.argv[1])
    with engine.connect() as connection:
        user_id, role, epoch, product_id = connection.execute(
            text(
                "SELECT u.id, u.role, u.token_epoch, i.product_id FROM orders o"
                " JOIN users u ON u.id = o.user_id JOIN order_items i ON i.order_id = o.id"
                " ORDER BY o.id LIMIT 1"
            )
        ).one()
    spec = load_manifest().get("predict")
    token, _ = issue_access_token(user_id, role, epoch)
    auth = [("authorization", f"Bearer {token}")]
    answers = {}
    loaded = {}
    for path in (
        f"/ml/predictions/users/{user_id}",
        f"/ml/recommendations/products/{product_id}",
        "/ml/recommendations/for-you",
        "/ml/recommendations/buy-again",
    ):
        result = invoke(spec, build_event(spec, "GET", path, headers=auth))
        answers[path.split("/")[-1] if "predictions" not in path else "prediction"] = {
            "status": result["statusCode"], "body": json.loads(result["body"])
        }
        loaded[path] = "shop.ml.recommendations" in sys.modules
    print(json.dumps({
        "answers": answers,
        "loaded": loaded,
        "heavy": sorted(m for m in ("pandas", "sklearn", "scipy") if m in sys.modules),
    }))
    """
)


def test_a_training_run_measures_and_records_the_recommendation_model(
    trained_shop: TrainedShop,
) -> None:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.models import ModelVersion, TrainingRun

    engine = build_engine(trained_shop.url)
    with Session(engine) as session:
        run = session.get(TrainingRun, trained_shop.run_id)
        assert run is not None
        summary = run.metrics["recommendations"]
        row = session.scalar(select(ModelVersion).where(ModelVersion.name == "recommendations"))
    engine.dispose()
    assert summary["chosen"] == "cooccurrence" and row is not None
    assert row.is_champion is summary["promoted"]
    for name in ("picked_for_you", "buy_again"):
        part = summary["validation"][name]
        assert part["customers"] > 0
        assert set(part["popularity"]) == {"hit_rate_at_10", "coverage"}
    assert ("promoted" if summary["promoted"] else "not promoted") in summary["reason"]


def test_recommendations_load_lazily_and_without_scipy_in_a_fresh_predict(
    trained_shop: TrainedShop,
) -> None:
    outcome = run_python_script(
        SCRIPT, trained_shop.url, env=trained_shop.script_env(), timeout=120
    )
    for name, answer in outcome["answers"].items():
        assert answer["status"] == 200, (name, answer)
    for name in ("for-you", "buy-again"):
        assert outcome["answers"][name]["body"]["products"], name
    loaded = list(outcome["loaded"].values())
    assert loaded == [False, True, True, True]  # a prediction alone never loads them
    assert outcome["heavy"] == []
