"""Lambda entry point of the predict function (numpy + ONNX Runtime; no pandas, no sklearn)."""

from __future__ import annotations

from shop.http.app import create_app
from shop.http.handler import make_handler
from shop.ml.artifacts import ArtifactStore

from .routes import router


def _model_store_reachable() -> bool:
    try:
        ArtifactStore.from_settings().champion_version("churn")
    except Exception:  # any store failure means "not reachable"
        return False
    return True


app = create_app(
    "predict",
    "/ml",
    [router],
    description="Churn and 30-day spend predictions, behavior analytics and model monitoring.",
    health_checks={"model_store": _model_store_reachable},
)
handler = make_handler(app, "predict")
