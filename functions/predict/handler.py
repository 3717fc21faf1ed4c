"""Lambda entry point of the predict function (numpy + ONNX Runtime; no pandas, no sklearn)."""

from __future__ import annotations

import os

from shop.coldstart import building_function, first_call_paused

# numpy's OpenBLAS starts a thread per core when numpy is first imported (the first
# prediction), and those threads spin for a while: about a tenth of numpy's import in CPU.
# Predictions never multiply matrices (ONNX Runtime runs its own single thread), so one
# BLAS thread is enough. Read once, when numpy loads; a value set for the function wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def _model_store_reachable() -> bool:
    from shop.ml.artifacts import ArtifactStore

    try:
        ArtifactStore.from_settings().champion_version("churn")
    except Exception:  # any store failure means "not reachable"
        return False
    return True


with building_function():
    from shop.http.app import create_app
    from shop.http.handler import make_handler

    from .monitoring_routes import router as monitoring_router
    from .recommend_routes import router as recommend_router
    from .routes import router

    # Predictions first: FastAPI sets up an included router's routes when a request first
    # reaches it, so a cold start answering a prediction never sets up the monitoring ones.
    app = create_app(
        "predict",
        "/ml",
        [router, recommend_router, monitoring_router],
        description="Churn and 30-day spend predictions, recommendations, behavior analytics "
        "and model monitoring.",
        health_checks={"model_store": _model_store_reachable},
    )
    # The first event imports the token check, the driver and (a prediction) numpy and ONNX
    # Runtime: with the collector paused too, as the import above.
    handler = first_call_paused(make_handler(app, "predict"))
