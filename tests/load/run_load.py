"""`make load`: the Locust scenario against `shopfn serve` on PostgreSQL, then the audit.

1. Creates an empty PostgreSQL database (LOAD_PG_URL names the server, default the local
   test server), starts `shopfn serve` on free ports against it (seeded catalog, an admin).
2. Lowers three products to 5 units so they sell out during the run.
3. Runs tests/load/locustfile.py headless: LOAD_USERS users (50) for LOAD_SECONDS (60).
4. Audits the database: no 5xx, no product below zero, every product's stock equal to its
   inventory ledger, no unit sold twice (units taken == units in live orders), and every order
   answered 201 present with its stock movements. Prints requests/s and p50/p95/p99 per route.
Exits non-zero if any check fails. Traffic goes to 127.0.0.1 only and stops by itself.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for `servers`
from pg_databases import create_postgres_database, drop_postgres_database
from servers import ServeProcess, running_serve

PG_SERVER = os.environ.get("LOAD_PG_URL", "postgresql+pg8000://postgres@127.0.0.1:5432/postgres")
USERS = int(os.environ.get("LOAD_USERS", "50"))
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
ADMIN_EMAIL = "load-admin@example.com"
ADMIN_PASSWORD = "load admin password"  # a throwaway account in a throwaway database


def make_scarce(base: str, count: int = 3, units: int = 5) -> list[int]:
    """Set `count` products to `units` in stock so checkouts race for the last units."""
    token = httpx.post(
        f"{base}/users/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    ).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    products = httpx.get(f"{base}/products", params={"sort": "price", "page_size": 10}).json()
    chosen = products["items"][:count]
    for product in chosen:
        delta = units - product["stock"]
        reply = httpx.post(
            f"{base}/products/{product['id']}/inventory",
            json={"delta": delta, "reason": "load test: make scarce"},
            headers=auth,
        )
        reply.raise_for_status()
    return [p["id"] for p in chosen]


def audit(url: str, results: dict[str, object]) -> list[str]:
    """Every broken invariant, as a sentence (empty when the run was sound)."""
    problems: list[str] = []
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        negative = conn.execute(sa.text("SELECT id FROM products WHERE stock < 0")).all()
        if negative:
            problems.append(f"products below zero: {negative}")
        off_ledger = conn.execute(
            sa.text(
                "SELECT p.id, p.stock, COALESCE(SUM(m.delta), 0) FROM products p "
                "LEFT JOIN inventory_movements m ON m.product_id = p.id "
                "GROUP BY p.id, p.stock HAVING p.stock <> COALESCE(SUM(m.delta), 0)"
            )
        ).all()
        if off_ledger:
            problems.append(f"stock differs from the inventory ledger: {off_ledger}")
        sold = conn.execute(
            sa.text(
                "SELECT COALESCE(SUM(i.quantity), 0) FROM order_items i "
                "JOIN orders o ON o.id = i.order_id WHERE o.status <> 'cancelled'"
            )
        ).scalar_one()
        taken = conn.execute(
            sa.text(
                "SELECT COALESCE(-SUM(delta), 0) FROM inventory_movements "
                "WHERE reason LIKE 'order %'"
            )
        ).scalar_one()
        if sold != taken:
            problems.append(f"units in live orders ({sold}) != units taken from stock ({taken})")
        created = set(results.get("orders", []))  # type: ignore[arg-type]
        stored = {
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT o.id FROM orders o WHERE EXISTS (SELECT 1 FROM inventory_movements m "
                    "WHERE m.reason = 'order ' || o.id AND m.delta < 0)"
                )
            )
        }
        lost = created - stored
        if lost:
            problems.append(f"{len(lost)} orders answered 201 are missing or took no stock")
    engine.dispose()
    if results.get("server_errors"):
        problems.append(f"{results['server_errors']} responses were 5xx")
    return problems


def report(stats_csv: Path) -> None:
    rows = list(csv.DictReader(stats_csv.open()))
    print(f"\n{'route':<28} {'reqs':>6} {'fails':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}")
    for row in rows:
        name = row["Name"] if row["Type"] else "TOTAL"
        if row["Name"] == "Aggregated":
            name = "TOTAL"
        print(
            f"{(row['Type'] + ' ' + name).strip():<28} {row['Request Count']:>6} "
            f"{row['Failure Count']:>5} {float(row['Requests/s']):>7.1f} {row['50%']:>6} "
            f"{row['95%']:>6} {row['99%']:>6}"
        )
    print("(times in ms)")


def main() -> int:
    name = f"shopfn_load_{os.getpid()}"
    url = create_postgres_database(PG_SERVER, name)
    work = Path(tempfile.mkdtemp(prefix="shopfn-load-"))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DATA_DIR": str(work / "data"),
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Cheap password hashes: the load test measures the shop, not bcrypt's cost factor.
        "BCRYPT_ROUNDS": os.environ.get("LOAD_BCRYPT_ROUNDS", "4"),
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "DB_POOL_SIZE": "20",
        # The audit reconciles every order with the stock it took: no simulated history
        # (whose past orders never drew on today's stock) in the shop under load.
        "SEED_DEMO_HISTORY": "false",
    }
    served = ServeProcess(work / "data", env, log_path=work / "serve.log")
    try:
        with running_serve(served, health="/orders/health", timeout=120, stop_timeout=20):
            return run_and_audit(served.commerce, name, url, work)
    finally:
        drop_postgres_database(PG_SERVER, name)


def run_and_audit(base: str, name: str, url: str, work: Path) -> int:
    """Locust against `base`, then the audit of database `url`: the exit status."""
    scarce = make_scarce(base)
    print(f"shopfn serve on {base} (PostgreSQL {name}); products {scarce} set to 5 units")
    results_path = work / "results.json"
    locust = [
        sys.executable, "-m", "locust", "-f", str(Path(__file__).with_name("locustfile.py")),
        "--headless", "--users", str(USERS), "--spawn-rate", "10",
        "--run-time", f"{SECONDS}s", "--host", base, "--csv", str(work / "load"),
        "--only-summary", "--stop-timeout", "10",
    ]  # fmt: skip
    locust_env = {
        **os.environ,
        "LOAD_RESULTS": str(results_path),
        "LOAD_ADMIN_EMAIL": ADMIN_EMAIL,
        "LOAD_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    done = subprocess.run(locust, env=locust_env, check=False, timeout=SECONDS + 120)
    results = json.loads(results_path.read_text())
    report(work / "load_stats.csv")
    problems = audit(url, results)
    print(
        f"\norders placed (201): {len(results['orders'])}, idempotent replays verified: "
        f"{results['replays']}, 5xx: {results['server_errors']}, locust exit {done.returncode}"
    )
    if problems:
        print("LOAD AUDIT FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("load audit passed: no 5xx, no oversold unit, no lost order")
    return 0 if done.returncode == 0 else done.returncode


if __name__ == "__main__":
    sys.exit(main())
