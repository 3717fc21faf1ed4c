"""Point-in-time features per user: the one definition training and prediction both use.

Everything is computed in SQL from rows strictly before `as_of` (orders created before it,
cancellations that happened before it, events that occurred before it), so adding later
data never changes a feature and no label leaks in. Numpy only: the predict function
imports this module without pandas or scikit-learn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import (
    Integer,
    Select,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session

from shop.behavior import EVENT_TYPES
from shop.coltypes import UTCDateTime
from shop.ml.baselines import clv_inputs
from shop.ml.lookback import FEATURE_WINDOWS
from shop.ml.paid import ended, paid_before
from shop.models import BehaviorEvent, Order, OrderStatusChange, User

WINDOWS: tuple[int, ...] = FEATURE_WINDOWS

ORDER_FEATURES: tuple[str, ...] = (
    "recency_days",
    "frequency",
    "monetary_total",
    "avg_order_value",
    "tenure_days",
    *(f"orders_{w}d" for w in WINDOWS),
    *(f"spend_{w}d" for w in WINDOWS),
    "cancelled_orders",
)
EVENT_FEATURES: tuple[str, ...] = tuple(f"{t}_{w}d" for t in EVENT_TYPES for w in WINDOWS)
BEHAVIOR_FEATURES: tuple[str, ...] = (
    "cart_abandonment_90d",
    "days_since_last_login",
    "days_since_last_event",
)
#: The feature vector, in order; stored with every model so serving reads the same columns.
FEATURE_NAMES: tuple[str, ...] = ORDER_FEATURES + EVENT_FEATURES + BEHAVIOR_FEATURES
#: Column position of each feature in `FeatureFrame.matrix`.
FEATURE_INDEX: dict[str, int] = {name: i for i, name in enumerate(FEATURE_NAMES)}
_INDEX = FEATURE_INDEX
#: The features `baselines.clv_inputs` takes, in its order.
CLV_INPUT_FEATURES: tuple[str, ...] = (
    "frequency",
    "tenure_days",
    "recency_days",
    "avg_order_value",
)
_DAY = 86400.0


@dataclass(frozen=True)
class FeatureFrame:
    """Features of some users at one instant: rows follow `user_ids`, columns FEATURE_NAMES."""

    as_of: datetime
    user_ids: NDArray[np.int64]
    matrix: NDArray[np.float64]

    def column(self, name: str) -> NDArray[np.float64]:
        return self.matrix[:, _INDEX[name]]

    def columns(self, names: Sequence[str]) -> NDArray[np.float64]:
        return self.matrix[:, [_INDEX[name] for name in names]]

    def clv_inputs(self) -> tuple[NDArray[np.float64], ...]:
        """(x, tx, T, m) for BG/NBD + Gamma-Gamma, with sign-up as each customer's birth."""
        return clv_inputs(*(self.column(name) for name in CLV_INPUT_FEATURES))

    def subset(self, mask: NDArray[np.bool_]) -> FeatureFrame:
        return FeatureFrame(self.as_of, self.user_ids[mask], self.matrix[mask])


def compute_features(
    session: Session,
    as_of: datetime,
    user_ids: Sequence[int] | None = None,
    *,
    active_only: bool = False,
) -> FeatureFrame:
    """Features as of `as_of` for `user_ids` (unknown ids are dropped), or for every customer.

    One round trip: users left-joined to their order and event aggregates. The statement is
    built once per process with bound parameters, so a single-user prediction pays for
    neither building nor compiling it. With `user_ids` each user's rows are reached through
    the (user, time) indexes: a few hundred users (the drift check's sample) cost tens of
    milliseconds whatever the shop's size; without, the aggregates read every row once.

    `active_only` keeps users with an order before `as_of` or an event in the 90 days before
    it: the population the models are trained on.
    """
    params: dict[str, Any] = {"as_of": as_of}
    params.update({f"start_{w}d": as_of - timedelta(days=w) for w in WINDOWS})
    if user_ids is None:
        statement = _feature_query(False)
    else:
        params["user_ids"] = list(user_ids)
        if not params["user_ids"]:
            return FeatureFrame(as_of, np.zeros(0, dtype=np.int64), np.zeros((0, _WIDTH)))
        statement = _feature_query(True)
    rows = session.execute(statement, params).all()
    frame = _frame(as_of, rows)
    if active_only:
        matrix = frame.matrix
        events_90d = matrix[:, [_INDEX[f"{t}_90d"] for t in EVENT_TYPES]].sum(axis=1)
        frame = frame.subset((matrix[:, _INDEX["frequency"]] > 0) | (events_90d > 0))
    return frame


_WIDTH = len(FEATURE_NAMES)
#: Columns of the query after (user id, created_at), in the order `_frame` reads them.
_ORDER_COUNTED = (
    "frequency",
    "monetary_total",
    "cancelled_orders",
    *(f"orders_{w}d" for w in WINDOWS),
    *(f"spend_{w}d" for w in WINDOWS),
)
_COUNTED = _ORDER_COUNTED + EVENT_FEATURES
_COUNTED_AT = np.array([_INDEX[name] for name in _COUNTED], dtype=np.intp)


def _frame(as_of: datetime, rows: Sequence[Any]) -> FeatureFrame:
    """The feature matrix from the query's rows (one per user, ordered by id)."""
    n = len(rows)
    matrix = np.zeros((n, _WIDTH), dtype=np.float64)
    if n == 0:
        return FeatureFrame(as_of, np.zeros(0, dtype=np.int64), matrix)
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=n)
    counted = len(_COUNTED)
    # A user without orders or events gets NULL aggregates from the outer joins: zero.
    values = np.array([row[2 : 2 + counted] for row in rows], dtype=np.float64)
    matrix[:, _COUNTED_AT] = np.nan_to_num(values, nan=0.0)
    tenure = np.array([max(_seconds(as_of, row[1]) / _DAY, 0.0) for row in rows])
    matrix[:, _INDEX["tenure_days"]] = tenure
    # "Never" reads as "since sign-up": a finite value trees can split on.
    for name, offset in (
        ("recency_days", 0),
        ("days_since_last_login", 1),
        ("days_since_last_event", 2),
    ):
        at = 2 + counted + offset
        matrix[:, _INDEX[name]] = [
            tenure[i] if row[at] is None else _days_ago(as_of, row[at])
            for i, row in enumerate(rows)
        ]
    frequency = matrix[:, _INDEX["frequency"]]
    matrix[:, _INDEX["avg_order_value"]] = np.where(
        frequency > 0, matrix[:, _INDEX["monetary_total"]] / np.maximum(frequency, 1), 0.0
    )
    adds = matrix[:, _INDEX["cart_add_90d"]]
    checkouts = matrix[:, _INDEX["checkout_90d"]]
    matrix[:, _INDEX["cart_abandonment_90d"]] = np.maximum(adds - checkouts, 0) / np.maximum(
        adds, 1
    )
    return FeatureFrame(as_of, ids, matrix)


def _seconds(as_of: datetime, when: datetime) -> float:
    return (as_of - when).total_seconds()


def _days_ago(as_of: datetime, when: datetime) -> float:
    return max(_seconds(as_of, when) / _DAY, 0.0)


# Short aliases and positional labels keep the SQL text small: pg8000 scans it char by char
# on every execute, and a single-user prediction is mostly that and the round trip.
_ONE: Any = literal_column("1")
_ZERO: Any = literal_column("0")


def _sum_if(condition: Any, value: Any = _ONE) -> Any:
    return func.sum(case((condition, value), else_=_ZERO))


def _alias(model: Any, name: str) -> Any:
    """The model's table under a short alias, in plain Core.

    Not `orm.aliased`: the first ORM alias configures every mapper of the shop (about 40 ms
    of a predict cold start), and the statement needs only the columns.
    """
    return model.__table__.alias(name)


def _constant(value: str) -> Any:
    """An event type inlined in the SQL (our own constants, never user input)."""
    assert value.isidentifier(), value
    return literal_column(f"'{value}'")


#: Window level of a row: 3 inside 7 days, 2 inside 30, 1 inside 90, else 0. The windows
#: nest, so "inside w days" is "level >= _LEVEL[w]": one timestamp test per row, not per sum.
_LEVEL: dict[int, Any] = {w: literal_column(str(len(WINDOWS) - i)) for i, w in enumerate(WINDOWS)}


def _window_level(column: Any, starts: dict[int, Any]) -> Any:
    return case(*((column >= starts[w], _LEVEL[w]) for w in WINDOWS), else_=_ZERO).label("w")


@cache
def _feature_query(for_ids: bool) -> Select[Any]:
    """Users with their order and event aggregates; `for_ids` restricts all three to :user_ids.

    Bound parameters: as_of, start_7d/30d/90d and (with `for_ids`) the expanding user_ids.
    Columns: user id, created_at, `_COUNTED`, last order, last login, last event.
    """
    as_of = bindparam("as_of", type_=UTCDateTime())
    starts = {w: bindparam(f"start_{w}d", type_=UTCDateTime()) for w in WINDOWS}
    ids: Any = bindparam("user_ids", expanding=True) if for_ids else None
    orders = _order_aggregates(as_of, starts, ids).subquery("oa")
    events = _event_aggregates(as_of, starts, ids).subquery("ea")
    user = _alias(User, "u")
    query = (
        select(
            user.c.id,
            user.c.created_at,
            *(c for c in orders.c if c.key not in ("user_id", "last")),
            *(c for c in events.c if c.key not in ("user_id", "login", "last")),
            orders.c["last"],
            events.c["login"],
            events.c["last"],
        )
        .outerjoin(orders, orders.c.user_id == user.c.id)
        .outerjoin(events, events.c.user_id == user.c.id)
        .where(user.c.created_at < as_of)
        .order_by(user.c.id)
    )
    if ids is None:
        return query.where(user.c.role == "customer")
    return query.where(user.c.id.in_(ids))


def _order_aggregates(as_of: Any, starts: dict[int, Any], ids: Any) -> Select[Any]:
    """Per user: purchases, net spend, cancellations, windowed counts and spend, last purchase.

    An order counts once it was paid (`shop.ml.paid`: paid money only) and is valid unless a
    "cancelled" or "refunded" status change happened before `as_of`; a valid order with a
    negative total is a return: it lowers spend and is not counted as a purchase. The
    statuses are inlined so PostgreSQL and SQLite read those changes from their partial index
    (a bound value cannot be matched to the index's predicate).
    """
    change = _alias(OrderStatusChange, "sc")
    order = _alias(Order, "o")
    is_cancel = and_(ended(change), change.c.at < as_of)
    per_order = select(
        order.c.user_id.label("user_id"),
        order.c.total.label("total"),
        order.c.created_at.label("at"),
        _window_level(order.c.created_at, starts),
    ).where(order.c.created_at < as_of, paid_before(order, as_of))
    cancelled = select(change.c.order_id.label("order_id")).where(is_cancel)
    if ids is not None:  # a few users: from their orders into the order_id index, no scan
        mine = _alias(Order, "mo")
        cancelled = cancelled.join(mine, mine.c.id == change.c.order_id).where(
            mine.c.user_id.in_(ids)
        )
        per_order = per_order.where(order.c.user_id.in_(ids))
    xc = cancelled.group_by(change.c.order_id).subquery("xc")
    per_order = per_order.add_columns(
        case((xc.c.order_id.is_(None), _ONE), else_=_ZERO).label("ok")
    ).outerjoin(xc, xc.c.order_id == order.c.id)
    orders = per_order.subquery("po")
    valid = orders.c.ok == _ONE
    # A return (an imported order with a negative total) is no purchase; its value is netted.
    bought = and_(valid, orders.c.total >= _ZERO)
    created = orders.c.at
    windowed = {w: and_(valid, orders.c.w >= _LEVEL[w]) for w in WINDOWS}
    bought_in = {w: and_(bought, orders.c.w >= _LEVEL[w]) for w in WINDOWS}
    columns = [
        _sum_if(bought),
        _sum_if(valid, orders.c.total),
        _sum_if(~valid),
        *(_sum_if(bought_in[w]) for w in WINDOWS),
        *(_sum_if(windowed[w], orders.c.total) for w in WINDOWS),
    ]
    return select(
        orders.c.user_id,
        *(column.label(f"o{i}") for i, column in enumerate(columns)),
        type_coerce(func.max(case((bought, created), else_=None)), UTCDateTime()).label("last"),
    ).group_by(orders.c.user_id)


def _event_aggregates(as_of: Any, starts: dict[int, Any], ids: Any) -> Select[Any]:
    """Per user: events of each type in each window, last login, last event of a known type."""
    event = _alias(BehaviorEvent, "e")
    per_event = select(
        event.c.user_id.label("user_id"),
        event.c.event_type.label("t"),
        event.c.occurred_at.label("at"),
        _window_level(event.c.occurred_at, starts),
    ).where(event.c.occurred_at < as_of)
    if ids is not None:
        return _windowed_events(per_event, event, as_of, starts, ids)
    events = per_event.where(
        event.c.user_id.is_not(None),
        event.c.event_type.in_([_constant(t) for t in EVENT_TYPES]),
    ).subquery("pe")
    occurred, kind = events.c.at, events.c.t
    return select(
        events.c.user_id,
        *_event_counts(kind, events.c.w, _ONE),
        type_coerce(
            func.max(case((kind == _constant("login"), occurred), else_=None)), UTCDateTime()
        ).label("login"),
        type_coerce(func.max(occurred), UTCDateTime()).label("last"),
    ).group_by(events.c.user_id)


def _windowed_events(
    per_event: Select[Any], event: Any, as_of: Any, starts: dict[int, Any], ids: Any
) -> Select[Any]:
    """The event aggregates of a few users (predictions, the drift sample), one row per user.

    Only the longest window's events are counted, read through the (user, time) index: in a
    shop with a long history a fraction of each user's events. They are tallied per (user,
    type, window) first, so the per-type sums add up a few rows per user, not one per event.
    No type filter: each sum tests its own type, and with one SQLite reads every user's
    recent events through the (type, time) index instead. The last login and last event,
    which may be older than any window, are short backward index walks (`_last_event`),
    once per user: the rows are grouped by user, so PostgreSQL neither repeats them nor
    overestimates the statement (a large estimate switches on its JIT, 30 ms a query).
    """
    recent = per_event.where(event.c.user_id.in_(ids), event.c.occurred_at >= starts[max(WINDOWS)])
    rows = recent.subquery("pe")
    tallies = (
        select(rows.c.user_id, rows.c.t, rows.c.w, cast(func.count(), Integer).label("n"))
        .group_by(rows.c.user_id, rows.c.t, rows.c.w)
        .subquery("ge")
    )
    user = _alias(User, "eu")
    return (
        select(
            user.c.id.label("user_id"),
            *_event_counts(tallies.c.t, tallies.c.w, tallies.c.n),
            _last_event(user.c.id, as_of, "login").label("login"),
            _last_event(user.c.id, as_of).label("last"),
        )
        .select_from(user)
        .outerjoin(tallies, tallies.c.user_id == user.c.id)
        .where(user.c.id.in_(ids))
        .group_by(user.c.id)
    )


def _event_counts(kind: Any, level: Any, tally: Any) -> list[Any]:
    """Events of each type in each window, `e0`, `e1`, ... in EVENT_FEATURES order."""
    counts = (
        _sum_if(and_(kind == _constant(t), level >= _LEVEL[w]), tally)
        for t in EVENT_TYPES
        for w in WINDOWS
    )
    return [column.label(f"e{i}") for i, column in enumerate(counts)]


def _last_event(user_id: Any, as_of: Any, kind: str | None = None) -> Any:
    """The user's latest event before `as_of` (of `kind`, else of a known type): a walk back
    down the (user, time) index that stops at the first match, however long the history."""
    event = _alias(BehaviorEvent, "le")
    known = (
        event.c.event_type == _constant(kind)
        if kind is not None
        else event.c.event_type.in_([_constant(t) for t in EVENT_TYPES])
    )
    latest = select(func.max(event.c.occurred_at)).where(
        event.c.user_id == user_id, event.c.occurred_at < as_of, known
    )
    return type_coerce(latest.scalar_subquery(), UTCDateTime())
