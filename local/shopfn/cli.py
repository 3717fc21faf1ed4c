"""The `shopfn` command: run the platform locally and manage its database."""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import sys


def _cmd_serve(args: argparse.Namespace) -> int:
    from shopfn.serve import ServeOptions, serve

    try:
        serve(
            ServeOptions(
                host=args.host,
                commerce_port=args.commerce_port,
                ml_port=args.ml_port,
                dashboard_port=None if args.no_dashboard else args.dashboard_port,
                log_format=args.log_format,
            ),
            prepare=not args.no_prepare,
        )
    except KeyboardInterrupt:  # Ctrl-C while it was still starting: no traceback
        print("\nshopfn serve stopped before it was ready.", file=sys.stderr, flush=True)
        # Exit 130 now, as a shell reports Ctrl-C. Returning would be the same, but CPython
        # 3.11 kills itself with SIGINT at exit when a Ctrl-C hit code run by exec() (a
        # dataclass being made during an import), even though it was caught here. Nothing is
        # serving yet, and the interrupted start-up wrote nothing that needs flushing.
        sys.stdout.flush()
        os._exit(130)
    return 0


def _cmd_dashboard(args: argparse.Namespace) -> int:
    from shopfn.dashboard import Dashboard

    dashboard = Dashboard(port=args.port, host=args.host)
    dashboard.start()
    try:
        return dashboard.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        dashboard.stop()


def _cmd_migrate(_args: argparse.Namespace) -> int:
    from shop.migrate import upgrade

    upgrade()
    print("database is at the newest schema")
    return 0


def _cmd_seed(_args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.migrate import upgrade
    from shop.services.seed import seed_catalog

    upgrade()
    with session_scope() as session:
        added = seed_catalog(session)
    print(f"catalog seeded: {added} new products")
    return 0


def _cmd_create_admin(args: argparse.Namespace) -> int:
    from shop.db import session_scope
    from shop.errors import Conflict
    from shop.migrate import upgrade
    from shop.services.accounts import ensure_admin

    email = args.email or os.environ.get("ADMIN_EMAIL") or input("Admin e-mail: ")
    password = args.password or os.environ.get("ADMIN_PASSWORD") or getpass.getpass("Password: ")
    if len(password) < 8:
        print("the password must have at least 8 characters", file=sys.stderr)
        return 2
    upgrade()
    try:
        with session_scope() as session:
            user = ensure_admin(
                session,
                email=email,
                password=password,
                full_name=args.name,
                reset_password=True,
                promote_existing=args.promote_existing,
                reactivate=args.reactivate,
            )
            print(f"admin ready: {user.email} (id {user.id})")
    except Conflict as exc:
        print(exc.detail, file=sys.stderr)
        return 1
    return 0


def _cmd_housekeeping(args: argparse.Namespace) -> int:
    import json

    from pydantic import ValidationError

    from shop.db import get_engine
    from shop.migrate import upgrade
    from shop.services.housekeeping import RetentionTooShort, purge
    from shop.settings import get_settings
    from shopfn.job_report import PURGED_LABELS

    try:
        get_settings()
    except ValidationError as exc:
        print(f"a setting is wrong: {exc}", file=sys.stderr)
        return 2
    upgrade()
    try:
        report = purge(get_engine(), batch_size=args.batch_size)
    except RetentionTooShort as exc:
        print(str(exc), file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(f"removed {report.total} old rows in {report.seconds:.1f} s")
    for name, count in report.purged.items():
        print(f"  {count:>9}  {PURGED_LABELS.get(name, name)}")
    return 0


def _cmd_expire_payments(args: argparse.Namespace) -> int:
    import json

    from shop.db import get_engine
    from shop.migrate import upgrade
    from shop.services.payment_expiry import expire_unpaid

    upgrade()
    report = expire_unpaid(get_engine(), batch_size=args.batch_size)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    print(f"{report.expired} unpaid orders expired in {report.seconds:.1f} s; their stock is back")
    if report.paying:
        print(f"{report.paying} were paid just now and are left to their payment")
    if report.retry:
        print(f"{report.retry} could not reach the payment service; the next run retries them")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from shopfn.build import BuildOptions, build

    options = BuildOptions(
        out=Path(args.out).resolve(),
        python_version=args.python_version,
        architecture=args.arch,
        functions=tuple(args.function or ()),
        bundle_aws_sdk=args.bundle_aws_sdk,
    )
    for bundle in build(options):
        size = f"{bundle.unzipped_bytes / 1e6:7.1f} MB unzipped" if bundle.path else ""
        print(f"{bundle.kind:6} {bundle.name:12} {size}  {bundle.path or ''}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from shopfn.ml_commands import add_ml_commands
    from shopfn.outbox_command import add_outbox_command

    parser = argparse.ArgumentParser(prog="shopfn", description=__doc__)
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bars (they only show on a terminal)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the Commerce and ML APIs locally")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--commerce-port", type=int, default=8001)
    serve.add_argument("--ml-port", type=int, default=8000)
    serve.add_argument("--no-prepare", action="store_true", help="skip migrate/seed/admin at start")
    serve.add_argument("--dashboard-port", type=int, default=5000, help="Streamlit dashboard port")
    serve.add_argument("--no-dashboard", action="store_true", help="run the APIs only")
    serve.add_argument(
        "--log-format",
        choices=("console", "json"),
        default="console",
        help="console: one line per request (default); json: Powertools logs and metrics as in AWS",
    )
    serve.set_defaults(run=_cmd_serve)

    dashboard = commands.add_parser(
        "dashboard",
        help="run the Streamlit dashboard alone (APIs from COMMERCE_API_URL and ML_API_URL)",
    )
    dashboard.add_argument("--host", default="127.0.0.1")
    dashboard.add_argument("--port", type=int, default=5000)
    dashboard.set_defaults(run=_cmd_dashboard)

    commands.add_parser("migrate", help="upgrade the database schema").set_defaults(
        run=_cmd_migrate
    )
    commands.add_parser("seed", help="add the starter catalog").set_defaults(run=_cmd_seed)

    build = commands.add_parser("build", help="package the layer and functions for Lambda")
    build.add_argument("--out", default="build", help="output folder (default: build)")
    build.add_argument("--function", action="append", help="only this function (repeatable)")
    build.add_argument("--python-version", default="3.12", help="Lambda runtime's Python")
    build.add_argument("--arch", choices=("x86_64", "arm64"), default="x86_64")
    build.add_argument(
        "--bundle-aws-sdk", action="store_true", help="ship boto3 from uv.lock (default: runtime's)"
    )
    build.set_defaults(run=_cmd_build)

    admin = commands.add_parser("create-admin", help="create an admin (or reset its password)")
    admin.add_argument("--email")
    admin.add_argument("--password", help="prefer ADMIN_PASSWORD or the prompt")
    admin.add_argument("--name", default="Administrator")
    admin.add_argument(
        "--promote-existing",
        action="store_true",
        help="make an existing customer account with this e-mail an admin (sets its password)",
    )
    admin.add_argument(
        "--reactivate",
        action="store_true",
        help="re-activate this admin if an admin deactivated it (sets its password)",
    )
    admin.set_defaults(run=_cmd_create_admin)
    housekeeping = commands.add_parser(
        "housekeeping", help="remove rows that are no longer needed (runs on a schedule too)"
    )
    housekeeping.add_argument(
        "--batch-size",
        type=_batch_size,
        help="rows per transaction (default: HOUSEKEEPING_BATCH_SIZE)",
    )
    housekeeping.add_argument("--json", action="store_true", help="print the counts as JSON")
    housekeeping.set_defaults(run=_cmd_housekeeping)
    expire = commands.add_parser(
        "expire-payments",
        help="give back the stock of orders not paid in time (runs on a schedule too)",
    )
    expire.add_argument(
        "--batch-size",
        type=_expiry_batch_size,
        help="orders read per batch (default: PAYMENT_EXPIRY_BATCH_SIZE)",
    )
    expire.add_argument("--json", action="store_true", help="print the counts as JSON")
    expire.set_defaults(run=_cmd_expire_payments)
    add_ml_commands(commands)
    add_outbox_command(commands)
    return parser


def _batch_size(raw: str) -> int:
    """--batch-size: a whole number of rows from 100 to 100000."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 100 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 100 to 100000, not {raw!r}")
    return value


def _expiry_batch_size(raw: str) -> int:
    """--batch-size of expire-payments: a whole number of orders from 1 to 10000."""
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 10000, not {raw!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `shopfn` console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # a line per migration is noise here
    args = build_parser().parse_args(argv)
    if args.quiet:
        from shopfn.progress import set_quiet

        set_quiet(True)
    return int(args.run(args))


if __name__ == "__main__":
    raise SystemExit(main())
