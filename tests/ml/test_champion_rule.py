"""The champion rule never picks a model that ranks customers backwards, and says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from support import FIXED_NOW


def _candidate(name: str, kind: str, **metrics: float) -> Any:
    from shop.ml.training import Candidate

    return Candidate(name, kind, {}, {"kind": kind}, dict(metrics, examples=500))


def test_a_churn_model_with_auc_below_one_half_is_never_chosen() -> None:
    from shop.ml.champion import decide

    candidates = [
        _candidate("churn", "bgnbd", auc=0.76),
        _candidate("churn", "rfm", auc=0.75),
        _candidate("churn", "gbm", auc=0.23),
    ]
    decision = decide("churn", candidates, None)
    assert decision.best.kind == "bgnbd" and decision.promote
    assert set(decision.rejected) == {"gbm"}
    assert "gbm left out: auc 0.2300 is below 0.5" in decision.reason


def test_a_spend_model_with_negative_spearman_is_never_chosen_even_with_the_best_rmse() -> None:
    from shop.ml.champion import decide

    candidates = [
        _candidate("spend", "bgnbd", rmse=20.0, spearman=0.26),
        _candidate("spend", "rfm", rmse=21.0, spearman=0.25),
        _candidate("spend", "gbm", rmse=15.0, spearman=-0.02),
    ]
    decision = decide("spend", candidates, ("v1", {"rmse": 25.0}))
    assert decision.best.kind == "bgnbd" and decision.promote
    assert "ranks customers backwards" in decision.rejected["gbm"]


def test_when_every_candidate_ranks_backwards_nothing_is_promoted() -> None:
    from shop.ml.champion import decide

    candidates = [_candidate("churn", kind, auc=0.4) for kind in ("bgnbd", "rfm", "gbm")]
    decision = decide("churn", candidates, None)
    assert not decision.promote and set(decision.rejected) == {"bgnbd", "rfm", "gbm"}
    assert decision.reason.startswith("no candidate can be promoted")


def test_a_run_records_why_a_backward_candidate_was_left_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.orm import Session

    import shop.ml.retraining as retraining
    from shop.db import build_engine
    from shop.migrate import upgrade
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.runs import queue_run
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    real_score = retraining.score_candidates

    def score_gbm_backwards(candidates: dict, validation: Any) -> None:
        real_score(candidates, validation)
        gbm = next(c for c in candidates["churn"] if c.kind == "gbm")
        gbm.metrics["auc"] = 1 - gbm.metrics["auc"]  # as if it ranked customers backwards

    monkeypatch.setattr(retraining, "score_candidates", score_gbm_backwards)
    engine = build_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    upgrade(engine)
    with Session(engine) as session:
        seed_catalog(session)
        session.commit()
        simulate(session, users=150, days=200, seed=5, now=FIXED_NOW)
        run_id = queue_run(session, "manual").id
        store = ArtifactStore.local(tmp_path / "artifacts")
        outcome = retraining.train_and_promote(session, run_id, store, FIXED_NOW)
    engine.dispose()
    churn = outcome.metrics["churn"]
    assert outcome.status == "succeeded" and churn["chosen"] != "gbm"
    assert "below 0.5: it ranks customers backwards" in churn["rejected"]["gbm"]
    assert "gbm left out" in churn["reason"] and "gbm left out" in (outcome.reason or "")
    assert store.load_champion("churn").metadata["kind"] != "gbm"
