"""Predictions for users from the champion models (numpy and ONNX Runtime only).

Champions are loaded once per container and re-checked every MODEL_CACHE_SECONDS, so a
newly promoted model is picked up without a redeploy; a pointer read is one small GET.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import NotFound, Unavailable
from shop.ml.artifacts import ArtifactError, ArtifactStore, ArtifactStoreUnavailable
from shop.ml.config import get_ml_settings
from shop.ml.features import FeatureFrame, compute_features
from shop.ml.scoring import ServingModel
from shop.models import User

MODEL_NAMES = ("churn", "spend")
#: churn_risk: "high" from HIGH_RISK up, "medium" from MEDIUM_RISK up, else "low".
HIGH_RISK = 0.7
MEDIUM_RISK = 0.4


def churn_risk(probability: float) -> str:
    if probability >= HIGH_RISK:
        return "high"
    return "medium" if probability >= MEDIUM_RISK else "low"


class ChampionCache:
    """The champion ServingModel per name, verified on load and refreshed on a timer."""

    def __init__(self, store_factory: Any = ArtifactStore.from_settings) -> None:
        self._store_factory = store_factory
        self._lock = threading.Lock()
        self._models: dict[str, ServingModel] = {}
        self._checked_at = 0.0

    def clear(self) -> None:
        with self._lock:
            self._models = {}
            self._checked_at = 0.0

    def get(self) -> dict[str, ServingModel]:
        """Both champions; Unavailable (503) until a model has been trained and promoted."""
        ttl = get_ml_settings().model_cache_seconds
        with self._lock:
            if len(self._models) < len(MODEL_NAMES) or time.monotonic() - self._checked_at > ttl:
                self._refresh()
            models = dict(self._models)
        missing = [name for name in MODEL_NAMES if name not in models]
        if missing:
            raise Unavailable(
                "No trained model yet: run a training (POST /ml/retrain) first.",
                extra={"missing_models": missing},
            )
        return models

    def _refresh(self) -> None:
        store = self._store_factory()
        for name in MODEL_NAMES:
            try:
                pointer = store.champion_version(name)
                current = self._models.get(name)
                if pointer is None or (current is not None and current.version == pointer[0]):
                    continue
                stored = store.load_version(name, pointer[0], metadata_sha256=pointer[1])
                self._models[name] = ServingModel.from_stored(stored)
            except ArtifactStoreUnavailable as exc:
                # Keep serving what we had; without it, 503 until the store answers again.
                if name not in self._models:
                    raise Unavailable(
                        "The model store cannot be reached right now; try again shortly."
                    ) from exc
            except ArtifactError as exc:
                # A tampered or half-written artifact is never served; keep what we had.
                if name not in self._models:
                    raise Unavailable(f"The {name} model cannot be loaded safely.") from exc
        self._checked_at = time.monotonic()


champions = ChampionCache()


def _money(value: float) -> Decimal:
    return Decimal(str(max(value, 0.0))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def predict_frame(frame: FeatureFrame, models: dict[str, ServingModel]) -> list[dict[str, Any]]:
    """One prediction document per row of `frame`."""
    churn = models["churn"].predict(frame)
    spend = models["spend"].predict(frame)
    versions = {name: model.version for name, model in models.items()}
    return [
        {
            "user_id": int(user_id),
            "churn_probability": round(float(p), 4),
            "churn_risk": churn_risk(float(p)),
            "predicted_spend_30d": _money(float(s)),
            "model_versions": versions,
        }
        for user_id, p, s in zip(frame.user_ids, churn, spend, strict=True)
    ]


def predict_users(
    session: Session, user_ids: Sequence[int], *, as_of: datetime | None = None
) -> tuple[list[dict[str, Any]], list[int]]:
    """Predictions for the known users among `user_ids` (in the order given) and the unknown."""
    models = champions.get()
    frame = compute_features(session, as_of or utcnow(), list(dict.fromkeys(user_ids)))
    by_id = {p["user_id"]: p for p in predict_frame(frame, models)}
    found = [by_id[u] for u in dict.fromkeys(user_ids) if u in by_id]
    missing = [u for u in dict.fromkeys(user_ids) if u not in by_id]
    return found, missing


def predict_user(session: Session, user_id: int) -> dict[str, Any]:
    """The user's prediction from their behavior up to now; NotFound for unknown users."""
    found, _ = predict_users(session, [user_id])
    if not found:
        raise NotFound("No such user.")
    return found[0]


def at_risk(session: Session, limit: int) -> list[dict[str, Any]]:
    """Active customers most likely to churn, highest probability first."""
    models = champions.get()
    frame = compute_features(session, utcnow(), active_only=True)
    predictions = predict_frame(frame, models)
    predictions.sort(key=lambda p: p["churn_probability"], reverse=True)
    top = predictions[:limit]
    emails = dict(
        session.execute(
            select(User.id, User.email).where(User.id.in_([p["user_id"] for p in top]))
        ).all()
    )
    return [{**p, "email": emails.get(p["user_id"])} for p in top]
