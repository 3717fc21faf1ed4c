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


def _refresh_statistics(tables: tuple[str, ...] | None = None) -> None:
    """PostgreSQL's planner statistics after a bulk load; a failure is only a warning (the
    data is already saved, and autovacuum will get there)."""
    from sqlalchemy.exc import SQLAlchemyError

    from shop.db import refresh_statistics

    try:
        if tables is None:
            refresh_statistics()
        else:
            refresh_statistics(tables)
    except SQLAlchemyError as exc:
        print(
            f"warning: the data is saved, but updating the database's statistics failed "
            f"({type(exc).__name__}); queries may be slow until autovacuum runs ANALYZE",
            file=sys.stderr,
        )


def _simulate(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog
    from shopfn.simulate import DEFAULT_DAYS, PROFILES, simulate

    if args.respond_to_campaign is not None:
        return _simulate_responses(args)
    if args.profile not in PROFILES:
        print(
            f"unknown --profile {args.profile!r}: choose one of {', '.join(PROFILES)}",
            file=sys.stderr,
        )
        return 2
    days = DEFAULT_DAYS[args.profile] if args.days is None else args.days
    if args.users < 1 or days < 1:
        print("--users and --days must be positive", file=sys.stderr)
        return 2
    try:
        end = None if args.end is None else _utc_instant(args.end)
    except ValueError:
        print("--end must be a date like 2026-09-01 (or an ISO time, UTC)", file=sys.stderr)
        return 2
    upgrade()
    with session_scope() as session:
        seed_catalog(session)
    with session_scope() as session:
        result = simulate(
            session, users=args.users, days=days, seed=args.seed, now=end, profile=args.profile
        )
    _refresh_statistics()
    print(
        f"simulated {result.users} customers, {result.orders} orders, {result.events} events "
        f"over {days} days ({args.profile} profile)"
    )
    return 0


def _simulate_responses(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shopfn.simulate_offers import respond_to_campaign

    upgrade()
    try:
        with session_scope() as session:
            done = respond_to_campaign(
                session,
                args.respond_to_campaign,
                true_effect=args.offer_effect,
                base_rate=args.base_rate,
                seed=args.seed,
            )
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    print(
        f"of {done.offer_customers} customers offered a code, {done.offer_orders} ordered again "
        f"({done.codes_used} with the code); of {done.control_customers} left alone, "
        f"{done.control_orders} did"
    )
    return 0


def _import_transactions(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog
    from shopfn.import_rows import IMPORTED_TABLES
    from shopfn.importer import ImportFailed, import_transactions
    from shopfn.transaction_log import LogFormat, check_date_format

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    problem = check_date_format(args.date_format)
    if args.description_column and not args.product_column:
        problem = "--description-column names new products: give --product-column too"
    if problem:
        print(problem, file=sys.stderr)
        return 2
    log_format = LogFormat(
        customer=args.customer_column,
        date=args.date_column,
        quantity=args.quantity_column,
        amount=args.amount_column,
        price=args.price_column,
        date_format=args.date_format,
        delimiter=args.delimiter,
        invoice=args.invoice_column,
        product=args.product_column,
        description=args.description_column,
    )
    usable, report = _report_for(args, path)
    if not usable:
        return 2
    upgrade()
    with session_scope() as session:
        seed_catalog(session)
    try:
        with session_scope() as session:
            result = import_transactions(
                session, path, log_format, on_error=args.on_error, report=report
            )
    except (ImportFailed, OSError) as exc:  # OSError: the report cannot be written
        _print_refusal(exc)
        return 1
    _refresh_statistics(IMPORTED_TABLES)
    _print_imported(result, baskets=log_format.baskets)
    if report:
        print(f"{result.rejected} lines rejected, listed with reasons in {report}")
    return 0


def _print_imported(result: Any, *, baskets: bool) -> None:
    """What an import added, in one sentence."""
    if baskets:
        print(
            f"imported {result.lines} lines as {result.orders} new orders "
            f"and {result.grown} earlier orders with new lines, for {result.customers} "
            f"customers ({result.new_customers} new); {result.returns} of the lines are "
            f"returns; {result.products} new products; "
            f"{result.repeated} lines were already imported"
        )
    else:
        print(
            f"imported {result.orders} orders for {result.customers} customers "
            f"({result.new_customers} new); {result.returns} of the orders are returns; "
            f"{result.repeated} lines were already imported"
        )


def _import_products(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shopfn.catalog_file import CatalogColumns
    from shopfn.catalog_import import import_products
    from shopfn.importer import ImportFailed

    path = Path(args.file)
    if not path.is_file():
        print(f"no such file: {path}", file=sys.stderr)
        return 2
    columns = CatalogColumns(
        sku=args.sku_column,
        name=args.name_column,
        description=args.description_column,
        price=args.price_column,
        category=args.category_column,
        stock=args.stock_column,
        active=args.active_column,
    )
    usable, report = _report_for(args, path)
    if not usable:
        return 2
    upgrade()
    try:
        with session_scope() as session:
            result = import_products(
                session,
                path,
                args.layout,
                columns,
                delimiter=args.delimiter,
                on_error=args.on_error,
                report=report,
            )
    except (ImportFailed, OSError) as exc:
        _print_refusal(exc)
        return 1
    _refresh_statistics(("products", "inventory_movements"))
    print(
        f"catalog imported: {result.created} new products, {result.updated} updated, "
        f"{result.unchanged} unchanged"
    )
    if report:
        print(f"{result.rejected} lines rejected, listed with reasons in {report}")
    return 0


def _report_for(args: argparse.Namespace, path: Path) -> tuple[bool, Path | None]:
    """Where `--on-error skip` reports rejected lines (None without skip), and whether that
    can be (not when it is the file itself: said on stderr)."""
    if args.on_error != "skip":
        return True, None
    report = Path(args.report) if args.report else _report_path(path)
    if report.resolve() == path.resolve():
        print("--report must not be the file being imported", file=sys.stderr)
        return False, None
    return True, report


def _print_refusal(exc: Exception) -> None:
    """Why an import wrote nothing: its bad lines (the first 50) and what to do."""
    print(f"import refused, nothing was written: {exc}", file=sys.stderr)
    bad_lines = getattr(exc, "bad_lines", 0)
    if bad_lines:
        for error in exc.errors[:50]:  # type: ignore[attr-defined]
            print(f"  {error}", file=sys.stderr)
        if bad_lines > 50:
            print(f"  ... and {bad_lines - 50} more", file=sys.stderr)
        print("  (--on-error skip imports the good lines and reports the rest)", file=sys.stderr)


def _report_path(path: Path) -> Path:
    """`sales.csv.gz` -> `sales.rejected.csv`, next to the log."""
    name = path.name.removesuffix(".gz")
    return path.with_name(f"{Path(name).stem}.rejected.csv")


def _utc_instant(text: str) -> datetime:
    """A date or ISO time given on the command line, as an aware UTC instant."""
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _backtest(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.ml.backtest import BacktestRefused, backtest
    from shop.progress import watched_by
    from shopfn.progress import progress_bar

    try:
        cutoff = _utc_instant(args.cutoff)
    except ValueError:
        print("--cutoff must be a date like 2026-09-01", file=sys.stderr)
        return 2
    if not 1 <= args.horizon_days <= 3650 or not 1 <= args.spend_days <= 3650:
        print("--horizon-days and --spend-days must be between 1 and 3650", file=sys.stderr)
        return 2
    try:
        with session_scope() as session, watched_by(progress_bar):
            result = backtest(session, cutoff, args.horizon_days, spend_days=args.spend_days)
    except BacktestRefused as exc:
        print(f"backtest refused: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        _print_table(result)
    return 0 if result["models"] else 1


def _print_table(result: dict[str, Any]) -> None:
    print(
        f"cutoff {result['validation_cutoff']}, churn horizon {result['horizon_days']} days, "
        f"spend window {result['spend_days']} days"
    )
    if not result["complete"]:
        print("note: the history ends before these windows do; the scores are not final")
    _print_recommendations(result["recommendations"])
    if not result["models"]:
        print(result.get("reason"))
        return
    for name, kinds in result["models"].items():
        for kind, metrics in kinds.items():
            shown = ", ".join(f"{k}={v:.4f}" for k, v in metrics.items() if isinstance(v, float))
            print(f"  {name:5} {kind:6} {shown}")
        chosen = result["chosen"][name]
        print(f"  {name:5} chosen: {chosen['kind'] or 'none'} ({chosen['reason']})")


def _print_recommendations(scores: dict[str, Any]) -> None:
    from shop.ml.recommend_eval import describe

    for line in describe(scores):
        print(f"  {line}")


def _add_error_flags(command: Any) -> None:
    command.add_argument(
        "--on-error",
        choices=("abort", "skip"),
        default="abort",
        help="abort: any bad line imports nothing; skip: import the good lines, report the rest",
    )
    command.add_argument(
        "--report", help="where --on-error skip lists rejected lines (default FILE.rejected.csv)"
    )


def add_ml_commands(commands: Any) -> None:
    """Register the ML subcommands on the `shopfn` parser's subparsers."""
    commands.add_parser("retrain", help="train the churn and spend models now").set_defaults(
        run=_retrain
    )
    simulate = commands.add_parser("simulate", help="write a synthetic shop history")
    simulate.add_argument("--users", type=int, default=500)
    simulate.add_argument(
        "--days", type=int, default=None, help="length of the history (365; 540 for transactions)"
    )
    simulate.add_argument("--seed", type=int, default=None)
    simulate.add_argument(
        "--end", default=None, help="when the history ends, e.g. 2026-09-01 (default: now, UTC)"
    )
    simulate.add_argument(
        "--profile",
        default="default",
        help="default: a storefront with browsing, carts and orders; "
        "transactions: orders only, like an imported sales log",
    )
    simulate.add_argument(
        "--respond-to-campaign",
        type=int,
        metavar="CAMPAIGN_ID",
        help="instead of a history: the 30 days after a campaign picked its customers, "
        "with offered customers ordering more by --offer-effect",
    )
    simulate.add_argument(
        "--offer-effect",
        type=float,
        default=0.10,
        help="true effect of the offer: extra chance to order again (default 0.10)",
    )
    simulate.add_argument(
        "--base-rate",
        type=float,
        default=0.15,
        help="chance to order again within 30 days without an offer (default 0.15)",
    )
    simulate.set_defaults(run=_simulate)

    importing = commands.add_parser("import", help="import data from files")
    kinds = importing.add_subparsers(dest="kind", required=True)
    transactions = kinds.add_parser(
        "transactions", help="a transaction log (CSV, tab or space separated, or .gz)"
    )
    transactions.add_argument("file")
    transactions.add_argument("--customer-column", default="customer_id")
    transactions.add_argument("--date-column", default="date")
    transactions.add_argument("--quantity-column", default="quantity")
    transactions.add_argument("--amount-column", default="amount", help="the line's total")
    transactions.add_argument(
        "--price-column", help="a unit price column instead: amount = quantity x price"
    )
    transactions.add_argument(
        "--invoice-column",
        help="lines with the same invoice (basket) and customer become one order",
    )
    transactions.add_argument(
        "--product-column",
        help="the shop's product code (a SKU); unknown codes become new inactive products",
    )
    transactions.add_argument("--description-column", help="the name of a product the import makes")
    transactions.add_argument(
        "--date-format",
        default="iso",
        help="iso (2026-03-01 08:26:00) or strptime, e.g. %%d/%%m/%%Y",
    )
    transactions.add_argument(
        "--delimiter", choices=("auto", "comma", "tab", "semicolon", "whitespace"), default="auto"
    )
    _add_error_flags(transactions)
    transactions.set_defaults(run=_import_transactions)

    products = kinds.add_parser(
        "products", help="a catalog file: plain columns, or a Shopify product export"
    )
    products.add_argument("file")
    products.add_argument(
        "--layout",
        choices=("plain", "shopify"),
        default="plain",
        help="plain: columns named by the flags below; shopify: a Shopify product export as is",
    )
    for name in ("sku", "name", "description", "price", "category", "stock", "active"):
        products.add_argument(f"--{name}-column", default=name, help="plain layout only")
    products.add_argument(
        "--delimiter", choices=("auto", "comma", "tab", "semicolon", "whitespace"), default="auto"
    )
    _add_error_flags(products)
    products.set_defaults(run=_import_products)

    ml = commands.add_parser("ml", help="model tools")
    tools = ml.add_subparsers(dest="tool", required=True)
    backtest = tools.add_parser("backtest", help="train before a cutoff, score the horizon after")
    backtest.add_argument("--cutoff", required=True, help="UTC date, e.g. 2026-09-01")
    backtest.add_argument(
        "--horizon-days", type=int, default=30, help="churn: no purchase in this many days"
    )
    backtest.add_argument(
        "--spend-days", type=int, default=30, help="spend: what is bought in this many days"
    )
    backtest.add_argument("--json", action="store_true")
    backtest.set_defaults(run=_backtest)
