"""Chat throttling per user and per client address, kept in the database.

Lambda containers share nothing, so the count lives in a table: one row per counted request
and bucket, a sliding window, old rows pruned now and then as new ones arrive. Refused
requests are not counted, so a client that keeps hammering is let back in once its window
has passed. Requests of one bucket take turns while they count (`shop.services.throttle`),
so parallel requests cannot all slip in under the limit.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import (
    Insert,
    Select,
    String,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from shop.coltypes import UTCDateTime, utcnow
from shop.errors import TooManyRequests
from shop.models import SupportRateHit
from shop.services.throttle import address_bucket, lock_keys
from shop.settings import get_settings
from shop.tokens import Principal

#: Old hits of a bucket are pruned on about one request in this many (they are only ever
#: counted within the window, so leftovers cost space, not correctness).
PRUNE_ONE_IN = 16


def count_chat_request(session: Session, principal: Principal | None, address: str) -> None:
    """Count one chat request, or raise TooManyRequests (429 with Retry-After).

    Commits on its own: the count must stay even when the chat turn fails later.
    """
    session.commit()  # a fresh transaction: an earlier snapshot would hide the latest hits
    settings = get_settings()
    now = utcnow()
    window_start = now - timedelta(seconds=settings.support_rate_window_seconds)
    buckets = [(address_bucket(address), settings.support_rate_limit_per_address)]
    if principal is not None:
        buckets.append((f"user:{principal.user_id}", settings.support_rate_limit_per_user))
    limits = dict(buckets)
    names = list(limits)
    params = {"names": names, "now": now, "window_start": window_start}
    params.update({f"bucket_{i}": name for i, name in enumerate(names)})
    postgres = session.get_bind().dialect.name == "postgresql"
    # Requests of these buckets take turns from here to the commit below (no WAL flush wait
    # on PostgreSQL: the chat's own commit still waits for it).
    lock_keys(session, *(f"chat:{name}" for name in names))
    if secrets.randbelow(PRUNE_ONE_IN) == 0:
        session.execute(_PRUNE, params)
    if postgres:
        # One statement: the hits go in through a data-modifying WITH, whose rows the count
        # does not see (same snapshot), so the count is of earlier requests only, as below;
        # the lock above makes that snapshot include every earlier request of the buckets.
        counts = session.execute(_count_and_hit(len(names)), params).all()
    else:
        counts = session.execute(_COUNT, params).all()
        session.execute(_hits(len(names)), params)
    for bucket, count, oldest in counts:
        if count >= limits[bucket]:
            session.rollback()  # a refused request is not counted
            retry_after = int((oldest - window_start).total_seconds()) + 1
            raise TooManyRequests(
                "Too many support messages; please wait a moment and try again.",
                retry_after=retry_after,
            )
    session.commit()


# The statements are built once, with bound parameters (names, now, window_start, bucket_<i>),
# so each request only binds values to an already compiled statement. A multi-row VALUES
# would be compiled anew on every request: SQLAlchemy never caches those.
_NAMES: Any = bindparam("names", expanding=True)
_NOW: Any = bindparam("now", type_=UTCDateTime())
_WINDOW_START: Any = bindparam("window_start", type_=UTCDateTime())
#: The table, not the mapped class: an ORM INSERT given parameters would be a bulk insert.
_HITS: Any = SupportRateHit.__table__
_PRUNE = delete(_HITS).where(
    SupportRateHit.bucket.in_(_NAMES), SupportRateHit.hit_at <= _WINDOW_START
)
_COUNT = (
    select(SupportRateHit.bucket, func.count(), func.min(SupportRateHit.hit_at))
    .where(SupportRateHit.bucket.in_(_NAMES), SupportRateHit.hit_at > _WINDOW_START)
    .group_by(SupportRateHit.bucket)
)


@cache
def _hits(buckets: int) -> Insert:
    """One hit per bucket, `bucket_0`... at `now`."""
    rows = [select(bindparam(f"bucket_{i}", type_=String()), _NOW) for i in range(buckets)]
    source: Any = rows[0] if buckets == 1 else union_all(*rows)
    return insert(_HITS).from_select(["bucket", "hit_at"], source)


@cache
def _count_and_hit(buckets: int) -> Select[str, int, datetime]:
    return _COUNT.add_cte(_hits(buckets).returning(_HITS.c.id).cte())
