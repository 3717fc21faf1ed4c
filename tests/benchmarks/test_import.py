"""`shopfn import transactions` of a 1,000,000-line log, on SQLite and on PostgreSQL.

Target (issue #12): <= 60 s and peak memory <= 1 GB, for the whole command in a fresh
process (start-up, reading, checking and writing everything); the budget is the baseline.
The log looks like a real one: lines of one invoice share a time, half the lines come from
60,000 regular customers and the rest from many one-time buyers, about 0.1% of the lines
cost 0.00, 2% are returns and 0.5% are repeated. BENCH_IMPORT_LINES changes the size.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from measure import Section

LINES = int(os.environ.get("BENCH_IMPORT_LINES", "1000000"))
BUDGET_SECONDS = 60.0
BUDGET_GB = 1.0


def _write_log(path: Path, lines: int) -> int:
    """A realistic log of `lines` lines; the number of repeated lines in it."""
    rng = random.Random(12)
    start = datetime(2024, 1, 1)
    repeated = 0
    previous = ""
    with path.open("w") as out:
        out.write("invoice,customer_id,date,quantity,amount\n")
        for n in range(lines):
            if previous and rng.random() < 0.005:
                out.write(previous)
                repeated += 1
                continue
            invoice = n // 8
            regular = rng.random() < 0.5
            customer = rng.randrange(60_000) if regular else 60_000 + rng.randrange(lines // 3)
            at = start + timedelta(minutes=invoice)
            quantity = rng.randint(1, 12)
            cents = 0 if rng.random() < 0.001 else quantity * rng.randint(50, 2000)
            amount = f"{cents // 100}.{cents % 100:02d}"
            if rng.random() < 0.02:
                quantity, amount = -quantity, f"-{amount}"
            previous = f"{invoice},C{customer},{at:%Y-%m-%d %H:%M:%S},{quantity},{amount}\n"
            out.write(previous)
    return repeated


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_import_of_a_million_lines(
    db: str, tmp_path: Path, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import Order
    from shop.services.seed import seed_catalog

    log = tmp_path / "transactions.csv"
    repeated = _write_log(log, LINES)
    with session_scope() as session:
        seed_catalog(session)
    command = [sys.executable, "-m", "shopfn.cli", "--quiet", "import", "transactions", str(log)]
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    with out_file.open("wb") as stdout, err_file.open("wb") as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(command, stdout=stdout, stderr=stderr)
        _pid, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    out, err = out_file.read_text(), err_file.read_text()
    assert os.waitstatus_to_exitcode(status) == 0, err[-2000:]
    assert f"{repeated} lines were already imported" in out, out
    with session_scope() as session:
        orders = session.scalar(select(func.count()).select_from(Order)) or 0
    assert orders == LINES - repeated
    peak_gb = usage.ru_maxrss / 1024 / 1024
    cpu = usage.ru_utime + usage.ru_stime
    section = bench_report(f"import of {LINES:,} lines ({db})")
    section.add("target budget", BUDGET_SECONDS, ratio=1.0)
    section.add(
        "shopfn import transactions", seconds, ratio=seconds / BUDGET_SECONDS, target="<= 1.00x"
    )
    section.add("  CPU time of the command (user + system)", cpu, ratio=cpu / BUDGET_SECONDS)
    section.notes.append(f"{LINES / seconds:,.0f} lines/s; {orders:,} orders written")
    section.notes.append(f"peak RSS of the command {peak_gb:.2f} GB (target <= {BUDGET_GB} GB)")
    ok = seconds <= BUDGET_SECONDS and peak_gb <= BUDGET_GB
    section.verdict = "within target" if ok else "OVER TARGET"
    assert ok, f"import took {seconds:.1f} s with a peak of {peak_gb:.2f} GB"
