"""The recommendation model: learned from baskets, better than best sellers, stored verified."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support import FIXED_NOW

CUTOFF = FIXED_NOW - timedelta(days=30)
LISTS = ("picked_for_you", "buy_again")


@pytest.fixture(scope="module")
def basket_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A SQLite shop of 220 products in 25 categories and a year of simulated baskets."""
    from decimal import Decimal

    from sqlalchemy import insert
    from sqlalchemy.orm import Session

    from shop.db import build_engine, reset_engine
    from shop.migrate import upgrade
    from shop.models import Product
    from shop.services.seed import seed_catalog
    from shop.settings import get_settings
    from shopfn.simulate import simulate

    url = f"sqlite:///{tmp_path_factory.mktemp('baskets') / 'shop.db'}"
    engine = build_engine(url)
    upgrade(engine)
    with Session(engine) as session:
        seed_catalog(session)
        rows = [
            {
                "sku": f"GR-{n}",
                "name": f"Grocery {n}",
                "category": f"Aisle {n % 20}",
                "category_slug": f"aisle-{n % 20}",
                "price": Decimal("3.00"),
                "stock": 50,
                "description": "",
            }
            for n in range(200)
        ]
        session.execute(insert(Product), rows)
        session.commit()
        simulate(session, users=500, days=365, seed=11, now=FIXED_NOW)
    engine.dispose()
    saved = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    reset_engine()
    yield url
    if saved is None:
        os.environ.pop("DATABASE_URL", None)
    else:
        os.environ["DATABASE_URL"] = saved
    get_settings.cache_clear()
    reset_engine()


def _backtest(cutoff: Any = CUTOFF) -> dict[str, Any]:
    from shop.db import session_scope
    from shop.ml.recommend_eval import backtest_recommendations

    with session_scope() as session:
        return backtest_recommendations(session, cutoff, 30)


def test_picked_for_you_and_buy_again_beat_best_sellers_on_simulated_baskets(
    basket_shop: str,
) -> None:
    scores = _backtest()
    for name in LISTS:
        part = scores[name]
        assert part["customers"] > 100, part
        assert part["hit_rate_at_10"] > part["popularity"]["hit_rate_at_10"], (name, part)
        assert part["coverage"] > part["popularity"]["coverage"], (name, part)


def test_picked_for_you_never_holds_a_product_the_customer_bought(basket_shop: str) -> None:
    from shop.db import session_scope
    from shop.ml.recommend_data import load_history
    from shop.ml.recommend_fit import fit_recommendations

    with session_scope() as session:
        history = load_history(session, FIXED_NOW)
    model = fit_recommendations(history)
    bought = history.bought_before()
    assert len(bought) > 200
    for user, products in bought.items():
        picked = model.picked_for(user)
        assert picked is not None and len(picked) == 30
        assert not products & set(picked), user
        assert set(model.buy_again(user)) <= products


def test_the_retrain_step_promotes_a_verified_model_that_serving_reads(
    basket_shop: str, tmp_path: Path
) -> None:
    from shop.db import session_scope
    from shop.ml.artifacts import ArtifactIntegrityError, ArtifactStore
    from shop.ml.recommend_serving import ARTIFACT, NAME, _Champion
    from shop.ml.recommend_training import train_recommendations
    from shop.ml.runs import queue_run
    from shop.models import ModelVersion

    store = ArtifactStore.local(tmp_path / "artifacts")
    with session_scope() as session:
        summary = train_recommendations(
            session,
            store,
            run_id=queue_run(session, "manual").id,
            version="v1",
            now=FIXED_NOW,
            validation_cutoff=CUTOFF,
            horizon_days=30,
        )
        row = session.query(ModelVersion).filter_by(name=NAME).one()
        assert row.is_champion and row.kind == "cooccurrence"
        stored = row.metrics["picked_for_you_choice"]
    assert summary["promoted"] is True, summary["reason"]
    # Picked for you's similarity and weight were chosen on the 30 days before now: the
    # choice with the best hit rate there, better than best sellers there, kept with it.
    choice = summary["picked_for_you_choice"]
    assert stored == choice and choice["days"] == 30 and choice["customers"] > 50
    rates = choice["hit_rate_at_10"]
    assert len(rates) == 36
    chosen = rates[f"{choice['together']}, lean {choice['lean']}, blend {choice['blend']}"]
    assert chosen == max(rates.values()) > choice["popularity_hit_rate_at_10"]
    assert "promoted" in summary["reason"] and summary["validation"] == _backtest()
    served = _Champion(lambda: store)
    arrays, version = served.get()
    assert version == "v1" and arrays is not None and len(arrays.products) > 150
    # A changed byte is refused: the shop shows best sellers rather than a tampered model.
    path = tmp_path / "artifacts" / "models" / NAME / "v1" / ARTIFACT
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactIntegrityError):
        store.load_champion(NAME)
    fresh = _Champion(lambda: store)
    assert fresh.get() == (None, None)
    assert "cannot be loaded" in fresh.missing_reason


def test_a_shop_without_orders_trains_no_model(tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from shop.db import build_engine
    from shop.migrate import upgrade
    from shop.ml.artifacts import ArtifactStore
    from shop.ml.recommend_training import train_recommendations

    engine = build_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    upgrade(engine)
    store = ArtifactStore.local(tmp_path)
    with Session(engine) as session:
        summary = train_recommendations(
            session,
            store,
            run_id=1,
            version="v1",
            now=FIXED_NOW,
            validation_cutoff=CUTOFF,
            horizon_days=30,
        )
    assert summary["promoted"] is False and summary["reason"] == "no orders yet"
    assert store.champion_version("recommendations") is None
    engine.dispose()


def test_backtest_json_and_text_report_recommendations_against_best_sellers(
    basket_shop: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from shopfn.cli import main

    args = ["ml", "backtest", "--cutoff", CUTOFF.date().isoformat(), "--horizon-days", "30"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)["recommendations"]
    assert set(out) == set(LISTS)
    for name in LISTS:
        assert set(out[name]) == {"customers", "hit_rate_at_10", "coverage", "popularity"}
        assert set(out[name]["popularity"]) == {"hit_rate_at_10", "coverage"}
        assert out[name]["hit_rate_at_10"] > out[name]["popularity"]["hit_rate_at_10"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Picked for you: for " in text and "better than best sellers" in text
    assert "Buy it again: for " in text and "no better than" not in text
