"""`shopfn import transactions` basket by basket (`--invoice-column`, `--product-column`,
`--description-column`) on every backend: one order per invoice and customer with its lines,
products by SKU or made for new codes, later exports adding only new lines to the right
orders, and amounts keyed to the cent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

HEADER = "invoice,customer,code,description,quantity,total,at\n"
BASKETS = ("--invoice-column", "invoice", "--customer-column", "customer")
BASKETS += ("--product-column", "code", "--description-column", "description")
BASKETS += ("--amount-column", "total", "--date-column", "at")
LOG = (
    HEADER + "1001,A1,EL-1001,Headphones on the till,1,129.00,2025-03-01 10:00:05\n"
    "1001,A1,MILK-1,Whole milk 1l,2,2.40,2025-03-01 10:00:00\n"
    "1001,A1,BREAD,Sourdough,1,3.10,2025-03-01 10:00:09\n"
    '1002,B2,MILK-1,"Milk, whole, 1 l",1,1.30,2025-03-02 09:00:00\n'
    "1003,A1,BREAD,Sourdough loaf,2,6.50,2025-03-05 18:30:00\n"
    "1003,A1,MILK-1,Whole milk 1l,-1,-1.20,2025-03-05 18:31:00\n"
)


def _shopfn(*argv: str) -> int:
    from shopfn.cli import main

    return main(["import", "transactions", *argv])


def _orders() -> list[tuple[str, Decimal, int, datetime, list[tuple[str, int, Decimal]]]]:
    """(customer's e-mail, total, item count, date, [(sku, quantity, line total)]) per order."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Order, OrderItem, Product, User

    with session_scope() as session:
        orders = session.execute(
            select(Order.id, User.email, Order.total, Order.item_count, Order.created_at)
            .join(User, User.id == Order.user_id)
            .order_by(Order.created_at)
        ).all()
        result = []
        for order_id, email, total, count, at in orders:
            lines = session.execute(
                select(Product.sku, OrderItem.quantity, OrderItem.line_total)
                .join(Product, Product.id == OrderItem.product_id)
                .where(OrderItem.order_id == order_id)
                .order_by(Product.sku, OrderItem.quantity)
            ).all()
            result.append((email.split("@")[0], total, count, at, [tuple(r) for r in lines]))
    return result  # type: ignore[return-value]


def _counts() -> dict[str, int]:
    from sqlalchemy import func, select

    from shop.db import session_scope
    from shop.models import Order, OrderItem, OrderStatusChange, Product, User

    with session_scope() as session:
        return {
            model.__tablename__: int(session.scalar(select(func.count()).select_from(model)) or 0)
            for model in (User, Order, OrderItem, OrderStatusChange, Product)
        }


def _product(sku: str) -> tuple[str, Decimal, str, bool, int]:
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Product

    with session_scope() as session:
        p = session.scalars(select(Product).where(Product.sku == sku)).one()
        return p.name, p.price, p.category, p.is_active, p.stock


def test_lines_of_one_invoice_and_customer_are_one_order_on_their_products(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    assert _shopfn(str(log), *BASKETS) == 0
    out = capsys.readouterr().out
    assert "imported 6 lines as 3 new orders and 0 earlier orders with new lines" in out
    assert "for 2 customers (2 new); 1 of the lines are returns; 2 new products" in out
    assert _orders() == [
        (
            "customer-a1",
            Decimal("134.50"),
            4,
            datetime(2025, 3, 1, 10, 0, tzinfo=UTC),  # the earliest of its lines
            [
                ("BREAD", 1, Decimal("3.10")),
                ("EL-1001", 1, Decimal("129.00")),  # a SKU already in the catalog
                ("MILK-1", 2, Decimal("2.40")),
            ],
        ),
        (
            "customer-b2",
            Decimal("1.30"),
            1,
            datetime(2025, 3, 2, 9, 0, tzinfo=UTC),
            [("MILK-1", 1, Decimal("1.30"))],
        ),
        (
            "customer-a1",
            Decimal("5.30"),
            1,
            datetime(2025, 3, 5, 18, 30, tzinfo=UTC),
            [("BREAD", 2, Decimal("6.50")), ("MILK-1", -1, Decimal("-1.20"))],
        ),
    ]
    # The shop's total is the file's.
    assert sum(order[1] for order in _orders()) == Decimal("141.10")
    # One product per code, named and priced after its latest line, not on sale.
    assert _product("MILK-1") == ("Whole milk 1l", Decimal("1.20"), "Imported", False, 0)
    assert _product("BREAD") == ("Sourdough loaf", Decimal("3.25"), "Imported", False, 0)
    assert _product("EL-1001")[:4] == (
        "Aurora Wireless Headphones",
        Decimal("129.00"),
        "Electronics",
        True,
    )


def test_a_later_export_adds_only_its_new_lines_to_the_right_orders(
    db: str, tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches of two lines, so baskets span batches; the later export has every line again
    (amounts written without decimals), an earlier line of basket 1001 and a new basket."""
    import shopfn.importer

    monkeypatch.setattr(shopfn.importer, "BATCH", 2)
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    assert _shopfn(str(log), *BASKETS) == 0
    capsys.readouterr()
    first = _counts()

    later = tmp_path / "later.csv"
    later.write_text(
        LOG.replace("129.00", "129")
        + "1001,A1,EGGS,Eggs x6,1,2.99,2025-03-01 09:59:00\n"
        + "1004,B2,EGGS,Eggs x6,2,5.98,2025-04-01 08:00:00\n"
    )
    assert _shopfn(str(later), *BASKETS) == 0
    out = capsys.readouterr().out
    assert "imported 2 lines as 1 new orders and 1 earlier orders with new lines" in out
    assert "1 new products; 6 lines were already imported" in out
    orders = _orders()
    assert [(o[0], o[1], o[2], o[3]) for o in orders] == [
        ("customer-a1", Decimal("137.49"), 5, datetime(2025, 3, 1, 9, 59, tzinfo=UTC)),
        ("customer-b2", Decimal("1.30"), 1, datetime(2025, 3, 2, 9, 0, tzinfo=UTC)),
        ("customer-a1", Decimal("5.30"), 1, datetime(2025, 3, 5, 18, 30, tzinfo=UTC)),
        ("customer-b2", Decimal("5.98"), 2, datetime(2025, 4, 1, 8, 0, tzinfo=UTC)),
    ]
    for _email, total, count, _at, lines in orders:  # totals are the sum of their lines
        assert total == sum(line[2] for line in lines)
        assert count == sum(line[1] for line in lines)
    grown = _counts()
    assert grown == dict(
        first, orders=4, order_items=8, order_status_changes=4, products=first["products"] + 1
    )

    assert _shopfn(str(later), *BASKETS) == 0  # the same export again adds nothing
    out = capsys.readouterr().out
    assert "imported 0 lines as 0 new orders" in out and "8 lines were already imported" in out
    assert _counts() == grown


def test_lines_without_an_invoice_or_product_code_are_rejected_with_their_reason(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        HEADER + "1001,A1,MILK-1,Milk,1,1.20,2025-03-01\n"
        " ,A1,MILK-1,Milk,1,1.20,2025-03-01\n"
        "1001,A1,,Milk,1,1.20,2025-03-01\n"
        f"1001,A1,{'X' * 65},Milk,1,1.20,2025-03-01\n"
    )
    report = tmp_path / "rejected.csv"
    argv = (str(log), *BASKETS, "--on-error", "skip", "--report", str(report))
    assert _shopfn(*argv) == 0
    assert "imported 1 lines as 1 new orders" in capsys.readouterr().out
    rejected = report.read_text()
    assert "3,invoice is empty" in rejected
    assert "4,product code is empty" in rejected
    assert "5,product code is longer than 64 characters" in rejected


def test_baskets_without_product_codes_use_the_stand_in_product(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(
        "invoice,customer_id,date,quantity,amount\n7,A1,2025-03-01,1,2.00\n"
        "7,A1,2025-03-01,2,3.00\n8,A1,2025-03-02,1,1.00\n"
    )
    assert _shopfn(str(log), "--invoice-column", "invoice") == 0
    assert "imported 3 lines as 2 new orders" in capsys.readouterr().out
    assert [(o[1], o[2], len(o[4])) for o in _orders()] == [
        (Decimal("5.00"), 3, 2),
        (Decimal("1.00"), 1, 1),
    ]
    assert _shopfn(str(log), "--description-column", "invoice") == 2


def test_sales_per_product_count_the_imported_lines(db: str, tmp_path: Path) -> None:
    from shop.db import session_scope
    from shop.services.order_stats import sales_stats

    day = f"{datetime.now(UTC) - timedelta(days=1):%Y-%m-%d}"
    log = tmp_path / "log.csv"
    log.write_text(
        LOG.replace("2025-03-01", day).replace("2025-03-02", day).replace("2025-03-05", day)
    )
    assert _shopfn(str(log), *BASKETS) == 0
    with session_scope() as session:
        stats = sales_stats(session, days=31)
    by_quantity = {p.name: (p.quantity, p.revenue) for p in stats.top_products_by_quantity}
    assert by_quantity == {
        "Aurora Wireless Headphones": (1, Decimal("129.00")),
        "Whole milk 1l": (2, Decimal("2.50")),  # 2 + 1 bought, 1 returned
        "Sourdough loaf": (3, Decimal("9.60")),
    }
    assert stats.totals.orders == 3
    assert stats.totals.revenue == Decimal("141.10")


def test_amounts_count_to_the_cent_and_lines_keyed_before_that_are_still_seen(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    """`100` and `100.00` are one line; an order keyed the old way (when they were two) is
    re-keyed when its file comes again, so neither layout adds it a second time."""
    from sqlalchemy import select, update

    from shop.db import session_scope
    from shop.models import Order
    from shopfn.transaction_log import LogFormat, Transaction, TransactionLog

    log, again = tmp_path / "log.csv", tmp_path / "again.csv"
    log.write_text("customer_id,date,quantity,amount\nA1,2025-03-01,1,100\n")
    again.write_text("customer_id,date,quantity,amount\nA1,2025-03-01,1,100.00\n")
    assert _shopfn(str(log)) == 0
    assert _shopfn(str(again)) == 0
    assert "imported 0 orders" in capsys.readouterr().out.splitlines()[-1]

    with TransactionLog(log, LogFormat()) as opened:
        line = next(opened.lines())
    assert isinstance(line, Transaction) and line.legacy_key not in (None, line.key)
    with session_scope() as session:  # as an import before this rule stored it
        session.execute(update(Order).values(import_key=line.legacy_key))
    assert _shopfn(str(log)) == 0
    assert "imported 0 orders" in capsys.readouterr().out
    with session_scope() as session:
        assert session.scalars(select(Order.import_key)).all() == [line.key]
    assert _shopfn(str(again)) == 0
    assert "imported 0 orders" in capsys.readouterr().out


def test_product_codes_alone_make_an_order_per_line_on_its_product(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    log = tmp_path / "log.csv"
    log.write_text(LOG)
    flags = [f for f in BASKETS if f not in ("--invoice-column", "invoice")]
    assert _shopfn(str(log), *flags) == 0
    assert "imported 6 lines as 6 new orders" in capsys.readouterr().out
    assert [(o[1], o[4]) for o in _orders()][:2] == [
        (Decimal("2.40"), [("MILK-1", 2, Decimal("2.40"))]),
        (Decimal("129.00"), [("EL-1001", 1, Decimal("129.00"))]),
    ]
    assert _shopfn(str(log), *flags) == 0
    assert "6 lines were already imported" in capsys.readouterr().out
    assert _counts()["orders"] == 6


def test_codes_differing_only_in_case_are_two_products_on_every_database(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    """The public retail log has StockCodes "85123A" and "85123a": two products, on MariaDB
    too (its default collation ignores case; the SKU column compares exactly)."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Product

    log = tmp_path / "log.csv"
    log.write_text(
        HEADER + "1,A1,85123A,White hanging heart,6,15.30,2025-03-01 10:00:00\n"
        "1,A1,85123a,Red hanging heart,1,2.95,2025-03-01 10:00:00\n"
    )
    assert _shopfn(str(log), *BASKETS) == 0
    assert "2 new products" in capsys.readouterr().out
    assert _product("85123A") == ("White hanging heart", Decimal("2.55"), "Imported", False, 0)
    assert _product("85123a") == ("Red hanging heart", Decimal("2.95"), "Imported", False, 0)
    assert _orders()[0][4] == [("85123A", 6, Decimal("15.30")), ("85123a", 1, Decimal("2.95"))]
    with session_scope() as session:  # a look-up by SKU is exact
        for sku, name in (("85123A", "White hanging heart"), ("85123a", "Red hanging heart")):
            assert session.scalars(select(Product.name).where(Product.sku == sku)).all() == [name]
            assert session.scalars(select(Product.sku).where(Product.sku.in_([sku]))).all() == [sku]
    products = _counts()["products"]

    # A later export naming one of them maps to that one only.
    again = tmp_path / "later.csv"
    again.write_text(HEADER + "2,B2,85123a,Red hanging heart,2,5.90,2025-03-02 10:00:00\n")
    assert _shopfn(str(again), *BASKETS) == 0
    assert "0 new products" in capsys.readouterr().out
    assert _orders()[1][4] == [("85123a", 2, Decimal("5.90"))]
    assert _counts()["products"] == products
