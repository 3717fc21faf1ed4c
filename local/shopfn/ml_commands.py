"""The ML and data subcommands of `shopfn`: retrain, simulate, import transactions, ml backtest."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _retrain(_args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.ml.retraining import execute_run
    from shop.ml.runs import RunAlreadyActive, get_run, queue_run, run_view
    from shop.progress import watched_by
    from shopfn.progress import progress_bar

    upgrade()
    try:
        with session_scope() as session:
            run_id = queue_run(session, "manual").id
    except RunAlreadyActive as exc:
        print(f"{exc.detail} (run {exc.extra.get('active_run_id')})", file=sys.stderr)
        return 2
    with watched_by(progress_bar):
        execute_run(run_id)
    with session_scope() as session:
        view = run_view(get_run(session, run_id))
    print(json.dumps(view, indent=2, default=str))
    return 0 if view["status"] in ("succeeded", "skipped") else 1


def _simulate(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog
    from shopfn.simulate import simulate

    if args.users < 1 or args.days < 1:
        print("--users and --days must be positive", file=sys.stderr)
        return 2
    upgrade()
    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        result = simulate(session, users=args.users, days=args.days, seed=args.seed)
    print(f"simulated {result.users} customers, {result.orders} orders, {result.events} events")
    return 0


def _import_transactions(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog
    from shopfn.importer import Columns, ImportFailed, import_transactions

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    columns = Columns(
        customer=args.customer_column,
        date=args.date_column,
        quantity=args.quantity_column,
        amount=args.amount_column,
        date_format=args.date_format,
    )
    upgrade()
    with session_scope() as session:
        seed_catalog(session)
    try:
        with session_scope() as session:
            result = import_transactions(session, path, columns)
    except ImportFailed as exc:
        print(f"import refused, nothing was written: {exc}", file=sys.stderr)
        for error in exc.errors[:50]:
            print(f"  {error}", file=sys.stderr)
        return 1
    print(
        f"imported {result.orders} orders for {result.customers} customers "
        f"({result.new_customers} new)"
    )
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.ml.backtest import backtest
    from shop.progress import watched_by
    from shopfn.progress import progress_bar

    try:
        cutoff = datetime.fromisoformat(args.cutoff)
    except ValueError:
        print("--cutoff must be a date like 2026-09-01", file=sys.stderr)
        return 2
    cutoff = cutoff.replace(tzinfo=UTC) if cutoff.tzinfo is None else cutoff.astimezone(UTC)
    with session_scope() as session, watched_by(progress_bar):
        result = backtest(session, cutoff, args.horizon_days)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        _print_table(result)
    return 0 if result["models"] else 1


def _print_table(result: dict[str, Any]) -> None:
    print(f"cutoff {result['validation_cutoff']}, horizon {result['horizon_days']} days")
    if not result["models"]:
        print(result.get("reason"))
        return
    for name, kinds in result["models"].items():
        for kind, metrics in kinds.items():
            shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
            print(f"  {name:5} {kind:6} {shown}")


def add_ml_commands(commands: Any) -> None:
    """Register the ML subcommands on the `shopfn` parser's subparsers."""
    commands.add_parser("retrain", help="train the churn and spend models now").set_defaults(
        run=_retrain
    )
    simulate = commands.add_parser("simulate", help="write a synthetic shop history")
    simulate.add_argument("--users", type=int, default=500)
    simulate.add_argument("--days", type=int, default=365)
    simulate.add_argument("--seed", type=int, default=None)
    simulate.set_defaults(run=_simulate)

    importing = commands.add_parser("import", help="import data from files")
    kinds = importing.add_subparsers(dest="kind", required=True)
    transactions = kinds.add_parser("transactions", help="a CSV transaction log")
    transactions.add_argument("file")
    transactions.add_argument("--customer-column", default="customer_id")
    transactions.add_argument("--date-column", default="date")
    transactions.add_argument("--quantity-column", default="quantity")
    transactions.add_argument("--amount-column", default="amount")
    transactions.add_argument("--date-format", default="%Y-%m-%d", help="strptime format")
    transactions.set_defaults(run=_import_transactions)

    ml = commands.add_parser("ml", help="model tools")
    tools = ml.add_subparsers(dest="tool", required=True)
    backtest = tools.add_parser("backtest", help="train before a cutoff, score the horizon after")
    backtest.add_argument("--cutoff", required=True, help="UTC date, e.g. 2026-09-01")
    backtest.add_argument("--horizon-days", type=int, default=30)
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(run=_backtest)
