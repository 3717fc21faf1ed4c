"""`shopfn import transactions` on real logs: zero amounts, returns, repeated lines, bad lines,
other separators and gzip, on every backend; a refused import leaves the database as it was."""

from __future__ import annotations

import csv
import gzip
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

HEADER = "customer_id,date,quantity,amount\n"
AS_OF = datetime(2026, 1, 1, tzinfo=UTC)


def _shopfn(*argv: str) -> int:
    from shopfn.cli import main

    return main(["import", "transactions", *argv])


def _counts() -> dict[str, int]:
    """Rows of every table an import writes: equal before and after means nothing changed."""
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import Order, OrderItem, OrderStatusChange, User

    with session_scope() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (User, Order, OrderItem, OrderStatusChange)
        }


def _orders_of(customer: str) -> list[tuple[Decimal, int, Decimal, int]]:
    """(order total, item count, line total, line quantity) of an imported customer's orders."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Order, OrderItem, User

    with session_scope() as session:
        rows = session.execute(
            select(Order.total, Order.item_count, OrderItem.line_total, OrderItem.quantity)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .join(User, User.id == Order.user_id)
            .where(User.email == f"customer-{customer}@import.shopfn.local")
            .order_by(Order.created_at)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _spend(customer: str) -> tuple[float, float, datetime]:
    """(monetary_total, frequency) the churn and spend models see, and the sign-up date."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.ml.features import compute_features
    from shop.models import User

    with session_scope() as session:
        user = session.scalars(
            select(User).where(User.email == f"customer-{customer}@import.shopfn.local")
        ).one()
        frame = compute_features(session, AS_OF, [user.id])
        return (
            float(frame.column("monetary_total")[0]),
            float(frame.column("frequency")[0]),
            user.created_at,
        )


def test_zero_amounts_are_purchases_and_returns_take_spend_off(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        HEADER + "A1,2025-03-05,1,0.00\n"  # a free item: a purchase with no spend
        "A1,2025-03-01,2,100.00\n"  # earlier than the line above: the account starts here
        "A1,2025-03-10,-1,-30.00\n"  # a return written with both signs negative
        "A1,2025-03-11,-2,10.00\n"  # a return written with only the quantity negative
        "B2,2025-04-01 12:30:00,1,-5.50\n"  # a refund written with only the amount negative
    )
    assert _shopfn(str(log)) == 0
    out = capsys.readouterr().out
    assert "imported 5 orders for 2 customers (2 new); 3 of the orders are returns" in out
    assert _orders_of("a1") == [
        (Decimal("100.00"), 2, Decimal("100.00"), 2),
        (Decimal("0.00"), 1, Decimal("0.00"), 1),
        (Decimal("-30.00"), -1, Decimal("-30.00"), -1),
        (Decimal("-10.00"), -2, Decimal("-10.00"), -2),
    ]
    assert _orders_of("b2") == [(Decimal("-5.50"), -1, Decimal("-5.50"), -1)]
    spend, frequency, signed_up = _spend("a1")
    assert spend == pytest.approx(60.0)
    assert frequency == 2  # the two purchases: returns are not purchases (see docs)
    assert signed_up == datetime(2025, 3, 1, tzinfo=UTC)


def test_repeated_lines_and_a_second_import_add_nothing(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "A1,2025-03-01,1,10.00\nA1,2025-03-01,1,10.00\nB2,2025-03-02,1,5.00\n")
    assert _shopfn(str(log)) == 0
    out = capsys.readouterr().out
    assert "imported 2 orders" in out and "1 lines were already imported" in out
    first = _counts()
    assert first["orders"] == 2 and first["users"] == 2

    assert _shopfn(str(log)) == 0
    out = capsys.readouterr().out
    assert "imported 0 orders for 0 customers (0 new); 0 of the orders are returns; " in out
    assert "3 lines were already imported" in out
    assert _counts() == first

    # The same lines in another layout (tabs, another date format, reordered) are the same lines.
    again = tmp_path / "again.tsv"
    again.write_text(
        "amount\tquantity\tdate\tcustomer_id\n5.00\t1\t02/03/2025\tB2\n7.00\t1\t03/03/2025\tB2\n"
    )
    assert _shopfn(str(again), "--date-format", "%d/%m/%Y") == 0
    assert "imported 1 orders for 1 customers (0 new)" in capsys.readouterr().out
    assert _counts()["orders"] == 3


def test_a_customer_across_batches_and_imports_is_one_account_from_their_first_line(
    db: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of two lines: A1's earliest line comes in a later batch, then in a later file;
    every order lands on one account that starts at the earliest line, with one item and one
    status change each."""
    import shopfn.importer

    monkeypatch.setattr(shopfn.importer, "BATCH", 2)
    log = tmp_path / "log.csv"
    log.write_text(
        HEADER + "A1,2025-03-05,1,10.00\nB2,2025-03-05,1,5.00\n"
        "B2,2025-03-06,3,7.50\nA1,2025-03-02,2,-4.00\n"
    )
    assert _shopfn(str(log)) == 0
    assert "imported 4 orders for 2 customers (2 new)" in capsys.readouterr().out
    assert _spend("a1")[2] == datetime(2025, 3, 2, tzinfo=UTC)

    later = tmp_path / "later.csv"
    later.write_text(HEADER + "A1,2025-02-01,1,3.00\nC3,2025-03-07,1,1.00\nB2,2025-03-06,3,7.50\n")
    assert _shopfn(str(later)) == 0  # B2's line was imported before: B2 gets nothing new
    out = capsys.readouterr().out
    assert "imported 2 orders for 2 customers (1 new)" in out
    assert "1 lines were already imported" in out
    assert _spend("a1")[2] == datetime(2025, 2, 1, tzinfo=UTC)
    assert _orders_of("a1") == [
        (Decimal("3.00"), 1, Decimal("3.00"), 1),
        (Decimal("-4.00"), -2, Decimal("-4.00"), -2),
        (Decimal("10.00"), 1, Decimal("10.00"), 1),
    ]
    assert _counts() == {"users": 3, "orders": 6, "order_items": 6, "order_status_changes": 6}


def test_ids_that_differ_only_in_case_are_one_account_from_its_earliest_line(
    db: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "ABC" and "abc" share an import address, so one account; it starts at the earlier
    line of either, whichever batch it came in, and is counted once."""
    import shopfn.importer

    monkeypatch.setattr(shopfn.importer, "BATCH", 2)
    log = tmp_path / "log.csv"
    log.write_text(
        HEADER + "ABC,2025-03-05,1,1.00\nX,2025-03-05,1,1.00\n"
        "abc,2025-03-03,1,2.00\nABC,2025-03-04,1,3.00\n"
    )
    assert _shopfn(str(log)) == 0
    assert "imported 4 orders for 2 customers (2 new)" in capsys.readouterr().out
    assert _spend("abc")[2] == datetime(2025, 3, 3, tzinfo=UTC)
    assert len(_orders_of("abc")) == 3


BAD = (
    HEADER + "A1,2025-03-01,1,10.00\n"
    "A1,03/01/2025,1,10.00\n"  # line 3: not an ISO date
    ",2025-03-01,1,10.00\n"  # line 4: no customer
    "B2,2025-03-01,1\n"  # line 5: a field short
    "B2,2025-03-01,one,10.00\n"  # line 6: quantity is no number
    "B2,2025-03-01,0,10.00\n"  # line 7: quantity 0
    "B2,2025-03-01,1,ten\n"  # line 8: amount is no number
    "C3,2999-01-01,1,1.00\n"  # line 9: in the future
    "C\x003,2025-03-01,1,1.00\n"  # line 10: a NUL in the customer id (no database keeps it)
    "C3,2025-03-01,99999999999,1.00\n"  # line 11: more units than any line holds
    "C3,0001-01-01T00:00:00+05:00,1,1.00\n"  # line 12: before year 1 in UTC
    "C3,2025-03-02,2,7.50\n"
)


def test_skip_imports_the_good_lines_and_reports_every_rejected_one(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(BAD)
    report = tmp_path / "out" / "rejected.csv"
    report.parent.mkdir()
    assert _shopfn(str(log), "--on-error", "skip", "--report", str(report)) == 0
    out = capsys.readouterr().out
    assert "imported 2 orders for 2 customers" in out
    assert f"10 lines rejected, listed with reasons in {report}" in out
    with report.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["line", "reason", "customer_id", "date", "quantity", "amount"]
    by_line = {int(row[0]): row for row in rows[1:]}
    assert sorted(by_line) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert by_line[3][1] == "date '03/01/2025' does not match an ISO date like 2026-03-01"
    assert by_line[3][2:] == ["A1", "03/01/2025", "1", "10.00"]
    assert by_line[4][1] == "customer id is empty"
    assert by_line[5][1] == "has 3 fields, the header has 4"
    assert by_line[6][1] == "quantity 'one' is not a whole number"
    assert by_line[7][1] == "quantity is 0"
    assert by_line[8][1] == "amount 'ten' is not a number"
    assert by_line[9][1] == "date is in the future"
    assert by_line[10][1] == "customer id holds a control character (a tab, NUL or similar)"
    assert by_line[11][1] == "quantity 99999999999 is more than 1,000,000 units"
    assert by_line[12][1] == "date '0001-01-01T00:00:00+05:00' is out of range"
    assert _counts()["orders"] == 2


def test_skip_writes_the_report_next_to_the_log_by_default(db: str, tmp_path: Path) -> None:
    log = tmp_path / "sales.csv.gz"
    with gzip.open(log, "wt") as handle:
        handle.write(BAD)
    assert _shopfn(str(log), "--on-error", "skip") == 0
    assert len((tmp_path / "sales.rejected.csv").read_text().splitlines()) == 1 + 10


def test_abort_is_the_default_and_changes_nothing(db: str, tmp_path: Path, capsys: Any) -> None:
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "Z9,2025-01-01,1,1.00\n")
    assert _shopfn(str(good)) == 0
    before = _counts()
    log = tmp_path / "log.csv"
    log.write_text(BAD)
    for options in ([], ["--on-error", "abort"]):
        capsys.readouterr()
        assert _shopfn(str(log), *options) == 1
        err = capsys.readouterr().err
        assert "import refused, nothing was written: 10 bad line(s)" in err
        assert "line 3: date '03/01/2025'" in err and "line 9: date is in the future" in err
        assert "line 10: customer id holds a control character" in err
        assert "line 2:" not in err and "line 13:" not in err
        assert _counts() == before
    assert not (tmp_path / "log.rejected.csv").exists()


def test_gzip_tabs_other_columns_a_unit_price_and_a_date_format(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "online_retail.txt.gz"  # gzip is recognised by content, not the name
    with gzip.open(log, "wt", encoding="utf-8") as handle:
        handle.write(
            "Invoice\tStockCode\tDescription\tQuantity\tInvoiceDate\tPrice\tCustomer ID\n"
            "536365\t85123A\tWHITE HANGING HEART, T-LIGHT\t6\t01.12.2024 08:26\t2.55\t17850\n"
            "536366\t22633\tHAND WARMER UNION JACK\t3\t01.12.2024 08:28\t1.855\t17850\n"
            "C536379\tD\tDiscount\t-1\t01.12.2024 09:41\t27.50\t14527\n"
        )
    options = ["--customer-column", "Customer ID", "--date-column", "InvoiceDate"]
    options += ["--quantity-column", "Quantity", "--price-column", "Price"]
    assert _shopfn(str(log), *options, "--date-format", "%d.%m.%Y %H:%M") == 0
    assert "imported 3 orders for 2 customers (2 new); 1 of the orders" in capsys.readouterr().out
    assert _orders_of("17850") == [
        (Decimal("15.30"), 6, Decimal("15.30"), 6),
        (Decimal("5.56"), 3, Decimal("5.56"), 3),  # 3 x 1.855, rounded half to even
    ]
    assert _orders_of("14527") == [(Decimal("-27.50"), -1, Decimal("-27.50"), -1)]
    assert _spend("17850")[2] == datetime(2024, 12, 1, 8, 26, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "options"),
    [
        ("customer  date        quantity amount\nA1\t 2025-03-01  2   19.90\n", []),
        (
            "customer date quantity amount\n  A1 2025-03-01 2 19.90  \n",
            ["--delimiter", "whitespace"],
        ),
        ("customer;date;quantity;amount\nA1;2025-03-01;2;19.90\n", ["--delimiter", "semicolon"]),
    ],
    ids=["spaces-and-tabs-sniffed", "whitespace", "semicolon"],
)
def test_other_separators(db: str, tmp_path: Path, text: str, options: list[str]) -> None:
    log = tmp_path / "log.txt"
    log.write_text(text)
    assert _shopfn(str(log), "--customer-column", "customer", *options) == 0
    assert _orders_of("a1") == [(Decimal("19.90"), 2, Decimal("19.90"), 2)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--date-format", "%Q"], "--date-format '%Q' is not a date format"),
        (["--date-format", "%H:%M"], "must contain the year, month and day"),
        (["--on-error", "maybe"], "argument --on-error: invalid choice: 'maybe'"),
        (["--delimiter", "pipe"], "argument --delimiter: invalid choice: 'pipe'"),
        (["--on-error", "skip", "--report", "{log}"], "--report must not be the file being"),
    ],
)
def test_a_bad_flag_value_is_refused_before_anything_is_written(
    db: str, tmp_path: Path, capsys: Any, options: list[str], message: str
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "A1,2025-03-01,1,10.00\n")
    before = _counts()
    try:
        code = _shopfn(str(log), *(o.format(log=log) for o in options))
    except SystemExit as exit_:  # argparse's own refusal of an unknown choice
        code = int(exit_.code or 0)
    assert code == 2
    assert message in capsys.readouterr().err
    assert _counts() == before
    assert log.read_text() == HEADER + "A1,2025-03-01,1,10.00\n"


def _truncated_gzip(path: Path) -> None:
    data = gzip.compress((HEADER + "A1,2025-03-01,1,10.00\n" * 5000).encode())
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize(
    ("write", "message"),
    [
        (_truncated_gzip, "the file cannot be read (Compressed file ended"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binary"), "missing column(s)"),
        (lambda p: p.write_text(""), "the file is empty or has no header line"),
        (lambda p: p.write_text(HEADER), "the file has no transactions"),
    ],
    ids=["truncated-gzip", "binary", "empty", "header-only"],
)
def test_a_malformed_file_is_refused_and_changes_nothing(
    db: str, tmp_path: Path, capsys: Any, write: Any, message: str
) -> None:
    log = tmp_path / "log.csv.gz"
    write(log)
    before = _counts()
    assert _shopfn(str(log), "--on-error", "skip") == 1
    err = capsys.readouterr().err
    assert "import refused, nothing was written:" in err and message in err
    assert _counts() == before
    assert not (tmp_path / "log.rejected.csv").exists()


def test_the_progress_bar_counts_the_whole_file(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shopfn.importer

    bars: list[Any] = []

    class Bar:
        def __init__(self, total: int, desc: str, unit: str) -> None:
            self.total, self.unit, self.done = total, unit, 0
            bars.append(self)

        def __enter__(self) -> Bar:
            return self

        def __exit__(self, *_exc: object) -> None:
            pass

        def update(self, n: int) -> None:
            self.done += n

    monkeypatch.setattr(shopfn.importer, "progress_bar", Bar)
    monkeypatch.setattr(shopfn.importer, "BATCH", 10)
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "".join(f"C{n},2025-03-01,1,1.00\n" for n in range(35)))
    assert _shopfn(str(log)) == 0
    assert [(bar.total, bar.unit, bar.done) for bar in bars] == [
        (log.stat().st_size, "B", log.stat().st_size)
    ]
    assert _counts()["orders"] == 35


def test_a_failure_while_writing_rolls_everything_back(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches written before the failure (on PostgreSQL, on the writer thread) are undone."""
    import shopfn.importer
    from shopfn.import_postgresql import StatementWriter
    from shopfn.import_rows import RowWriter

    batches: list[int] = []
    for writer in (RowWriter, StatementWriter):
        real_write = writer.write

        def failing_write(self: Any, batch: Any, real_write: Any = real_write) -> None:
            batches.append(len(batch))
            if len(batches) == 3:
                raise RuntimeError("the disk is full")
            real_write(self, batch)

        monkeypatch.setattr(writer, "write", failing_write)
    monkeypatch.setattr(shopfn.importer, "BATCH", 10)
    log = tmp_path / "log.csv"
    log.write_text(HEADER + "".join(f"C{n},2025-03-01,1,1.00\n" for n in range(55)))
    before = _counts()
    with pytest.raises(RuntimeError, match="the disk is full"):
        _shopfn(str(log))
    assert batches[:3] == [10, 10, 10]
    assert _counts() == before


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_postgresql_knows_the_imported_history_at_once(db: str, tmp_path: Path) -> None:
    """The import refreshes the planner's statistics: queries right after it (the retrain
    check, predictions) are planned for the tables as they are now, not as they were."""
    from sqlalchemy import text

    from shop.db import session_scope

    log = tmp_path / "log.csv"
    log.write_text(HEADER + "".join(f"C{n % 40},2025-03-01,1,{n}.00\n" for n in range(1, 301)))
    assert _shopfn(str(log)) == 0
    with session_scope() as session:
        known = dict(
            session.execute(
                text(
                    "SELECT relname, reltuples FROM pg_class WHERE relname IN "
                    "('users', 'orders', 'order_items', 'order_status_changes')"
                )
            ).all()
        )
    assert known == {"users": 40, "orders": 300, "order_items": 300, "order_status_changes": 300}
