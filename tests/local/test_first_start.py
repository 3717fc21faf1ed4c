"""The first start of an empty shop: a demo history and the first models. Ctrl-C during that
first training neither leaves a run holding the active slot nor a shop without models: the
next start trains them."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from shop.db import session_scope
from shop.models import Order, TrainingRun
from shop.services.seed import seed_catalog
from shopfn.simulate import FIRST_RUN_STOPPED, seed_first_start


def _runs() -> list[tuple[str, str, str | None, str | None]]:
    with session_scope() as session:
        rows = session.execute(
            select(
                TrainingRun.trigger, TrainingRun.status, TrainingRun.active_slot, TrainingRun.reason
            ).order_by(TrainingRun.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def _orders() -> int:
    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(Order)) or 0)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_ctrl_c_in_the_first_training_is_made_good_on_the_next_start(
    db: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import shop.ml.retraining as retraining

    def interrupted(run_id: int, **_: Any) -> None:
        raise KeyboardInterrupt

    with session_scope() as session:
        seed_catalog(session)  # as serve's prepare_database does first
    monkeypatch.setattr(retraining, "execute_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        seed_first_start()
    monkeypatch.undo()
    simulated = _orders()
    assert simulated > 0
    assert _runs() == [("manual", "failed", None, FIRST_RUN_STOPPED)]  # the slot is free

    caplog.set_level(logging.INFO, logger="shopfn.simulate")
    assert seed_first_start() is True

    assert _orders() == simulated  # the same history, not a second one
    assert [run[:2] for run in _runs()] == [("manual", "failed"), ("manual", "succeeded")]
    assert [r.getMessage() for r in caplog.records if r.name == "shopfn.simulate"] == [
        "the first training was stopped last time: training the first models now",
        "First training finished: new models in use.",
    ]
    assert seed_first_start() is False  # trained: later starts leave it to the schedule
    assert len(_runs()) == 2
