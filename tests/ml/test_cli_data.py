"""`shopfn import transactions`, `shopfn simulate`, `shopfn ml backtest` and the local schedule."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support import FIXED_NOW


def _count(model: type) -> int:
    from sqlalchemy import func, select

    from shop.db import session_scope

    with session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_import_creates_customers_and_delivered_orders(db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from shop.models import Order, User
    from shopfn.cli import main

    log = tmp_path / "tx.csv"
    log.write_text(
        "cust,when,qty,value\nA1,01/03/2026,2,19.90\nA1,15/04/2026,1,5.00\nB2,02/05/2026,1,120.00\n"
    )
    options = ["--customer-column", "cust", "--date-column", "when", "--quantity-column", "qty"]
    options += ["--amount-column", "value", "--date-format", "%d/%m/%Y"]
    assert main(["import", "transactions", str(log), *options]) == 0
    assert "imported 3 orders for 2 customers (2 new)" in capsys.readouterr().out
    assert _count(Order) == 3
    from sqlalchemy import select

    from shop.db import session_scope

    with session_scope() as session:
        statuses = set(session.scalars(select(Order.status)))
        emails = set(session.scalars(select(User.email).where(User.role == "customer")))
    assert statuses == {"delivered"}
    assert emails == {"customer-a1@import.shopfn.local", "customer-b2@import.shopfn.local"}


def test_a_bad_row_aborts_the_whole_import_with_line_numbers(
    db: str, tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    from shop.models import Order, User
    from shopfn.cli import main

    log = tmp_path / "bad.csv"
    log.write_text(
        "customer_id,date,quantity,amount\n"
        "A1,2026-03-01,2,19.90\n"
        "B2,03/01/2026,1,120.00\n"
        "C3,2026-03-02,0,5.00\n"
        "D4,2026-03-02,1,5.001\n"
    )
    assert main(["import", "transactions", str(log)]) == 1
    err = capsys.readouterr().err
    assert "nothing was written" in err
    assert "line 3:" in err and "line 4:" in err and "line 5:" in err and "line 2:" not in err
    assert _count(Order) == 0 and _count(User) == 0


def test_missing_columns_are_named(db: str, tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from shopfn.cli import main

    log = tmp_path / "cols.csv"
    log.write_text("id,day,amount\n1,2026-01-01,3.00\n")
    assert main(["import", "transactions", str(log)]) == 1
    assert "missing column(s) customer_id, date, quantity" in capsys.readouterr().err


def test_simulate_then_backtest_prints_metrics_as_json(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from shop.models import BehaviorEvent, Order
    from shopfn.cli import main

    assert main(["simulate", "--users", "120", "--days", "200", "--seed", "4"]) == 0
    assert _count(Order) > 200 and _count(BehaviorEvent) > 2000
    capsys.readouterr()
    cutoff = FIXED_NOW.date().replace(day=1).isoformat()
    args = ["ml", "backtest", "--cutoff", cutoff, "--horizon-days", "20", "--spend-days", "14"]
    code = main([*args, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["horizon_days"] == 20 and out["validation_cutoff"].startswith(cutoff)
    assert out["spend_days"] == 14 and out["complete"] is True
    assert set(out["models"]["churn"]) == {"gbm", "bgnbd", "rfm"}
    assert out["models"]["churn"]["gbm"]["auc"] > 0.5
    for name in ("churn", "spend"):
        chosen = out["chosen"][name]
        assert chosen["kind"] in out["models"][name]
        assert chosen["metrics"] == out["models"][name][chosen["kind"]]


def test_simulate_refuses_an_unknown_profile_and_writes_nothing(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from shop.models import Order, User
    from shopfn.cli import main

    assert main(["simulate", "--users", "10", "--profile", "nonsense"]) == 2
    err = capsys.readouterr().err
    assert "unknown --profile 'nonsense': choose one of default, transactions" in err
    assert _count(User) == 0 and _count(Order) == 0


def test_simulate_ends_the_history_where_asked_and_refuses_a_bad_end(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import Order, User
    from shopfn.cli import main

    assert main(["simulate", "--users", "10", "--end", "someday"]) == 2
    assert "--end must be a date like 2026-09-01" in capsys.readouterr().err
    assert _count(User) == 0 and _count(Order) == 0

    assert (
        main(["simulate", "--users", "30", "--days", "60", "--seed", "5", "--end", "2025-03-01"])
        == 0
    )
    with session_scope() as session:
        first, last = session.execute(
            select(func.min(Order.created_at), func.max(Order.created_at))
        ).one()
    assert datetime(2024, 12, 31, tzinfo=UTC) <= first.replace(tzinfo=UTC)
    assert last.replace(tzinfo=UTC) <= datetime(2025, 3, 1, tzinfo=UTC)


def test_simulate_transactions_profile_writes_orders_only(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from shop.models import BehaviorEvent, Order
    from shopfn.cli import main

    assert main(["simulate", "--users", "40", "--profile", "transactions", "--seed", "2"]) == 0
    out = capsys.readouterr().out
    assert "simulated 40 customers" in out and "over 540 days (transactions profile)" in out
    assert _count(Order) >= 40 and _count(BehaviorEvent) == 0


@pytest.mark.parametrize(
    ("cutoff", "message"),
    [
        ("2020-01-01", "is outside the order history"),
        ("2031-01-01", "is outside the order history"),
    ],
)
def test_backtest_refuses_a_cutoff_outside_the_history(
    db: str, capsys, cutoff: str, message: str
) -> None:  # type: ignore[no-untyped-def]
    from shopfn.cli import main

    assert main(["simulate", "--users", "30", "--days", "120", "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["ml", "backtest", "--cutoff", cutoff]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and "pick a date between" in captured.err
    assert captured.out == ""


def test_backtest_on_an_empty_shop_and_with_bad_windows_says_why(db: str, capsys) -> None:  # type: ignore[no-untyped-def]
    from shopfn.cli import main

    assert main(["ml", "backtest", "--cutoff", "2026-01-01"]) == 2
    assert "no orders yet" in capsys.readouterr().err
    assert main(["ml", "backtest", "--cutoff", "2026-01-01", "--spend-days", "0"]) == 2
    assert "between 1 and 3650" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("schedule", "now", "expected"),
    [
        ("03:00", datetime(2026, 1, 1, 2, 0, tzinfo=UTC), datetime(2026, 1, 1, 3, 0, tzinfo=UTC)),
        ("03:00", datetime(2026, 1, 1, 4, 0, tzinfo=UTC), datetime(2026, 1, 2, 3, 0, tzinfo=UTC)),
        ("every:60", datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)),
        ("off", datetime(2026, 1, 1, tzinfo=UTC), None),
    ],
)
def test_retrain_schedule_fires_when_configured(
    schedule: str, now: datetime, expected: datetime | None
) -> None:
    from shopfn.scheduler import next_fire

    assert next_fire(schedule, now) == expected


def test_local_scheduler_sends_the_real_scheduled_event_shape() -> None:
    from shopfn.scheduler import scheduled_event

    event = scheduled_event(datetime(2026, 1, 1, 3, 0, tzinfo=UTC))
    assert event["detail-type"] == "Scheduled Event" and event["source"] == "aws.events"
    assert event["time"] == "2026-01-01T03:00:00Z" and event["resources"][0].startswith(
        "arn:aws:events"
    )
