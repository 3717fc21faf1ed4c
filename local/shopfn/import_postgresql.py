"""The import's writer for PostgreSQL: each batch of lines in one statement.

The portable writer sends every row three times (orders, then items and status changes
with the order ids it looked up by key) and asks first which keys were imported before.
Here a batch goes out as one text parameter per column, unpacked by `unnest` on the
server; `ON CONFLICT (import_key) DO NOTHING` skips lines imported before without asking
first, and the items and status changes take their order ids from the orders' RETURNING,
all in one statement. The parameters are built on the reading thread (`prepare`), so the
writing thread does little but wait for the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text

from shopfn.bulk_rows import remembered
from shopfn.import_rows import ADDRESS, CENT, ITEM_NAME, RowWriter, email_of, first_seen
from shopfn.transaction_log import Transaction

_PLACE_LINES = text(
    """
    WITH line AS (
        SELECT * FROM unnest(
            string_to_array(:keys, ','),
            string_to_array(:users, ',')::int[],
            string_to_array(:at, ',')::timestamptz[],
            string_to_array(:quantities, ',')::int[],
            string_to_array(:totals, ',')::numeric[],
            string_to_array(:prices, ',')::numeric[]
        ) AS line(key, user_id, at, quantity, total, price)
    ), placed AS (
        INSERT INTO orders (user_id, status, subtotal, total, item_count, shipping_address,
                            import_key, created_at, updated_at)
        SELECT user_id, 'delivered', total, total, quantity, CAST(:address AS jsonb),
               key, at, at
        FROM line
        ON CONFLICT (import_key) DO NOTHING
        RETURNING id, user_id, import_key, item_count, created_at
    ), items AS (
        INSERT INTO order_items (order_id, product_id, name, unit_price, quantity, line_total)
        SELECT placed.id, :product,
               CASE WHEN line.quantity < 0 THEN :return_name ELSE :purchase_name END,
               line.price, line.quantity, line.total
        FROM placed JOIN line ON line.key = placed.import_key
    ), changes AS (
        INSERT INTO order_status_changes (order_id, status, at)
        SELECT id, 'delivered', created_at FROM placed
    )
    SELECT count(*), count(*) FILTER (WHERE item_count < 0), array_agg(DISTINCT user_id)
    FROM placed
    """
)

_REKEY = text(
    """
    UPDATE orders SET import_key = moved.key
    FROM unnest(string_to_array(:old, ','), string_to_array(:new, ',')) AS moved(old, key)
    WHERE orders.import_key = moved.old
      AND NOT EXISTS (SELECT 1 FROM orders AS o WHERE o.import_key = moved.key)
    """
)

_CREATE_USERS = text(
    """
    INSERT INTO users (email, full_name, password_hash, role, is_active, created_at, updated_at)
    SELECT email, 'Customer ' || customer, :password_hash, 'customer', true, at, at
    FROM unnest(
        string_to_array(:emails, ','),
        ARRAY(SELECT json_array_elements_text(CAST(:customers AS json))),
        string_to_array(:at, ',')::timestamptz[]
    ) AS new(email, customer, at)
    ON CONFLICT (email) DO NOTHING
    RETURNING email, id
    """
)


@dataclass(frozen=True, slots=True)
class Lines:
    """A batch ready to write: its distinct lines and their values as parameters."""

    fresh: list[Transaction]
    repeated: int
    params: dict[str, Any]
    #: Each customer's first transaction in the batch, and their import e-mail.
    first: dict[str, datetime]
    emails: dict[str, str]

    def __len__(self) -> int:
        return len(self.fresh) + self.repeated


class StatementWriter(RowWriter):
    """`RowWriter` with one statement per batch and one per batch's new customers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: A UTC instant as PostgreSQL reads it (lines share times: made once per time).
        self.stamp = remembered(datetime.isoformat)
        self.address = json.dumps(ADDRESS)

    def prepare(self, batch: list[Transaction]) -> Lines:
        seen: set[str] = set()
        fresh = []
        for t in batch:  # a line repeated within the batch; earlier batches: ON CONFLICT
            if t.key not in seen:
                seen.add(t.key)
                fresh.append(t)
        stamp = self.stamp
        params = {
            "keys": ",".join([t.key for t in fresh]),
            "at": ",".join([stamp(t.at) for t in fresh]),
            "quantities": ",".join([str(t.quantity) for t in fresh]),
            "totals": ",".join([str(t.amount) for t in fresh]),
            "prices": ",".join([str((t.amount / t.quantity).quantize(CENT)) for t in fresh]),
            "address": self.address,
            "product": self.product_id,
            "return_name": ITEM_NAME[True],
            "purchase_name": ITEM_NAME[False],
        }
        first = first_seen(fresh)
        emails = {customer: email_of(customer) for customer in first}
        return Lines(fresh, len(batch) - len(fresh), params, first, emails)

    def write(self, lines: Lines) -> None:  # type: ignore[override]
        self.rekey(lines.fresh)
        self.ensure_customers(lines.first, lines.emails)
        users = self.users
        ids = ",".join([str(users[t.customer][0]) for t in lines.fresh])
        params = dict(lines.params, users=ids)
        placed, returns, user_ids = self.session.execute(_PLACE_LINES, params).one()
        self.result.repeated += len(lines) - placed
        self.result.orders += placed
        self.result.returns += returns
        self.count_customers(user_ids or ())

    def rekey(self, lines: list[Transaction]) -> None:
        """`RowWriter.rekey` in one statement."""
        moved = [t for t in lines if t.legacy_key is not None]
        if moved:
            old = ",".join([t.legacy_key for t in moved])  # type: ignore[misc]
            self.session.execute(_REKEY, {"old": old, "new": ",".join([t.key for t in moved])})

    def find_or_create(
        self, emails: dict[str, str], first: dict[str, datetime]
    ) -> dict[str, tuple[int, datetime]]:
        """Create the missing accounts and get every new id in one statement; accounts that
        existed before (from an earlier import) are looked up after it."""
        new: dict[str, str] = {}
        for customer, email in emails.items():
            new.setdefault(email, customer)
        created = self.session.execute(
            _CREATE_USERS,
            {
                "emails": ",".join(new),
                "customers": json.dumps(list(new.values())),
                "at": ",".join([self.stamp(first[c]) for c in new.values()]),
                "password_hash": self.password_hash,
            },
        )
        found = {email: (user_id, first[new[email]]) for email, user_id in created}
        self.result.new_customers += len(found)
        existing = [email for email in new if email not in found]
        if existing:
            found.update(self._users(existing))
        return found
