"""The predict function answers from ONNX Runtime and numpy: no pandas, scikit-learn or scipy,
and no ORM mapper configured."""

from __future__ import annotations

import textwrap

from ml_shop import TrainedShop
from support import run_python_script

SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    from sqlalchemy import create_engine, text
    from shopfn.gateway import invoke
    from shopfn.apigw import build_event
    from shopfn.manifest import load_manifest
    from shop.tokens import issue_access_token
    from sqlalchemy import inspect

    engine = create_engine(sys.argv[1])
    with engine.connect() as connection:
        user_id, role, epoch = connection.execute(
            text(
                "SELECT u.id, u.role, u.token_epoch FROM orders o JOIN users u ON u.id = o.user_id"
                " ORDER BY o.id LIMIT 1"
            )
        ).one()
    spec = load_manifest().get("predict")
    token, _ = issue_access_token(user_id, role, epoch)  # the customer asks about themself
    event = build_event(
        spec, "GET", f"/ml/predictions/users/{user_id}",
        headers=[("authorization", f"Bearer {token}")],
    )
    result = invoke(spec, event)
    print(json.dumps({
        "status": result["statusCode"],
        "body": json.loads(result["body"]),
        "heavy": sorted(m for m in ("pandas", "sklearn", "scipy") if m in sys.modules),
        "mappers_configured": inspect(sys.modules["shop.models"].User).configured,
        "collector_on": gc.isenabled(),
    }))
    """
)


def test_prediction_in_a_fresh_interpreter_imports_no_pandas_or_sklearn(
    trained_shop: TrainedShop,
) -> None:
    outcome = run_python_script(
        SCRIPT, trained_shop.url, env=trained_shop.script_env(), timeout=120
    )
    assert outcome["status"] == 200, outcome["body"]
    assert outcome["body"]["churn_risk"] in ("low", "medium", "high")
    assert outcome["heavy"] == []
    # The token check and the feature query are Core statements: no mapper is configured
    # (every mapper of the shop at once, about 30 ms of a cold start).
    assert outcome["mappers_configured"] is False
    # The first event ran with the collector paused (shop.coldstart): it is back on after it.
    assert outcome["collector_on"] is True
