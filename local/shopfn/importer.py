"""`shopfn import transactions`: a real shop's transaction log as customers and delivered orders.

One row per transaction (customer id, date, quantity, amount). Every row is checked first;
any bad row aborts the import with its line number, and nothing is written.
"""

from __future__ import annotations

import csv
import secrets
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shop.models import Order, OrderItem, OrderStatusChange, Product, User
from shop.passwords import hash_password


class ImportFailed(Exception):
    """The file has bad rows; `errors` lists them as `line N: problem`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(f"{len(errors)} bad row(s); nothing was imported")
        self.errors = errors


@dataclass(frozen=True)
class Columns:
    customer: str = "customer_id"
    date: str = "date"
    quantity: str = "quantity"
    amount: str = "amount"
    date_format: str = "%Y-%m-%d"
    email_domain: str = "import.shopfn.local"


@dataclass(frozen=True)
class Transaction:
    customer: str
    at: datetime
    quantity: int
    amount: Decimal


@dataclass(frozen=True)
class ImportResult:
    customers: int
    new_customers: int
    orders: int


def parse(path: Path, columns: Columns) -> list[Transaction]:
    """Every row of the file, validated; ImportFailed with all bad lines otherwise."""
    errors: list[str] = []
    rows: list[Transaction] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        wanted = (columns.customer, columns.date, columns.quantity, columns.amount)
        missing = [c for c in wanted if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFailed([f"line 1: missing column(s) {', '.join(missing)}"])
        for line, row in enumerate(reader, start=2):
            try:
                rows.append(_row(row, columns))
            except _BadRow as problem:
                errors.append(f"line {line}: {problem}")
    if errors:
        raise ImportFailed(errors)
    if not rows:
        raise ImportFailed(["the file has no transactions"])
    return rows


class _BadRow(ValueError):
    pass


def _row(row: dict[str, Any], columns: Columns) -> Transaction:
    """One validated transaction; _BadRow saying what is wrong otherwise."""
    customer = (row.get(columns.customer) or "").strip()
    if not customer or len(customer) > 100:
        raise _BadRow("customer id is empty or longer than 100 characters")
    raw_date, raw_quantity = row.get(columns.date) or "", row.get(columns.quantity) or ""
    raw_amount = row.get(columns.amount) or ""
    try:
        at = datetime.strptime(raw_date.strip(), columns.date_format)
    except ValueError:
        raise _BadRow(f"date {raw_date!r} does not match {columns.date_format!r}") from None
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    try:
        quantity = int(raw_quantity.strip())
        amount = Decimal(raw_amount.strip())
    except (ValueError, InvalidOperation):
        raise _BadRow(
            f"quantity {raw_quantity!r} or amount {raw_amount!r} is not a number"
        ) from None
    if at > datetime.now(UTC):
        raise _BadRow("date is in the future")
    if quantity < 1:
        raise _BadRow("quantity must be at least 1")
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise _BadRow("amount must be positive with at most two decimals")
    if amount >= Decimal("10000000000"):
        raise _BadRow("amount is too large")
    return Transaction(customer, at, quantity, amount)


def import_transactions(session: Session, path: Path, columns: Columns) -> ImportResult:
    """Create the customers and one delivered order per transaction, in one transaction."""
    rows = parse(path, columns)
    product = session.scalar(select(Product).order_by(Product.id).limit(1))
    if product is None:
        raise ImportFailed(["the catalog is empty: run `shopfn seed` first"])
    by_customer: dict[str, list[Transaction]] = defaultdict(list)
    for row in rows:
        by_customer[row.customer].append(row)
    emails = {c: f"customer-{_slug(c)}@{columns.email_domain}".lower() for c in by_customer}
    existing = dict(
        session.execute(
            select(User.email, User.id).where(User.email.in_(list(emails.values())))
        ).all()
    )
    new = [c for c in by_customer if emails[c] not in existing]
    password_hash = hash_password(secrets.token_urlsafe(24))
    if new:
        ids = session.execute(
            insert(User).returning(User.id, sort_by_parameter_order=True),
            [
                {
                    "email": emails[c],
                    "full_name": f"Customer {c}",
                    "password_hash": password_hash,
                    "role": "customer",
                    "is_active": True,
                    "created_at": min(t.at for t in by_customer[c]),
                    "updated_at": min(t.at for t in by_customer[c]),
                }
                for c in new
            ],
        ).scalars()
        existing.update({emails[c]: i for c, i in zip(new, ids, strict=True)})
    orders = [
        {
            "user_id": existing[emails[t.customer]],
            "status": "delivered",
            "subtotal": t.amount,
            "total": t.amount,
            "item_count": t.quantity,
            "shipping_address": {"imported": True},
            "created_at": t.at,
            "updated_at": t.at,
        }
        for t in rows
    ]
    order_ids = list(
        session.execute(
            insert(Order).returning(Order.id, sort_by_parameter_order=True), orders
        ).scalars()
    )
    session.execute(
        insert(OrderItem),
        [
            {
                "order_id": oid,
                "product_id": product.id,
                "name": "Imported purchase",
                "unit_price": (t.amount / t.quantity).quantize(Decimal("0.01")),
                "quantity": t.quantity,
                "line_total": t.amount,
            }
            for oid, t in zip(order_ids, rows, strict=True)
        ],
    )
    session.execute(
        insert(OrderStatusChange),
        [
            {"order_id": oid, "status": "delivered", "at": t.at}
            for oid, t in zip(order_ids, rows, strict=True)
        ],
    )
    session.commit()
    return ImportResult(customers=len(by_customer), new_customers=len(new), orders=len(rows))


def _slug(value: str) -> str:
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in value).strip("-")
    return cleaned[:60] or secrets.token_hex(4)
