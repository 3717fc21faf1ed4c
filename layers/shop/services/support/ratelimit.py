"""Chat throttling per user and per client address, kept in the database.

Lambda containers share nothing, so the count lives in a table: one row per counted request
and bucket, a sliding window, old rows pruned now and then as new ones arrive. Refused
requests are not counted, so a client that keeps hammering is let back in once its window
has passed.
"""

from __future__ import annotations

import ipaddress
import secrets
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import TooManyRequests
from shop.models import SupportRateHit
from shop.settings import get_settings
from shop.tokens import Principal

#: Old hits of a bucket are pruned on about one request in this many (they are only ever
#: counted within the window, so leftovers cost space, not correctness).
PRUNE_ONE_IN = 16


def address_bucket(address: str) -> str:
    """The bucket of a client address: the IPv4 address, or the IPv6 /64 network.

    One IPv6 customer usually holds a whole /64, so counting single addresses would let them
    rotate past the limit.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return f"addr:{address.strip()[:60]}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"addr:{ip.ipv4_mapped}"
        return f"addr:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"addr:{ip}"


def count_chat_request(session: Session, principal: Principal | None, address: str) -> None:
    """Count one chat request, or raise TooManyRequests (429 with Retry-After).

    Commits on its own: the count must stay even when the chat turn fails later.
    """
    settings = get_settings()
    now = utcnow()
    window_start = now - timedelta(seconds=settings.support_rate_window_seconds)
    buckets = [(address_bucket(address), settings.support_rate_limit_per_address)]
    if principal is not None:
        buckets.append((f"user:{principal.user_id}", settings.support_rate_limit_per_user))
    limits = dict(buckets)
    names = list(limits)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        # A lost hit after a database crash only means one extra message allowed, so this
        # commit need not wait for its WAL flush (the chat's own commit still does).
        session.execute(text("SET LOCAL synchronous_commit TO OFF"))
    if secrets.randbelow(PRUNE_ONE_IN) == 0:
        session.execute(
            delete(SupportRateHit).where(
                SupportRateHit.bucket.in_(names), SupportRateHit.hit_at <= window_start
            )
        )
    hits = insert(SupportRateHit).values([{"bucket": name, "hit_at": now} for name in names])
    counting = (
        select(SupportRateHit.bucket, func.count(), func.min(SupportRateHit.hit_at))
        .where(SupportRateHit.bucket.in_(names), SupportRateHit.hit_at > window_start)
        .group_by(SupportRateHit.bucket)
    )
    if postgres:
        # One statement: the hits go in through a data-modifying WITH, whose rows the count
        # does not see (same snapshot), so the count is of earlier requests only, as below.
        counts = session.execute(counting.add_cte(hits.returning(SupportRateHit.id).cte())).all()
    else:
        counts = session.execute(counting).all()
        session.execute(hits)
    for bucket, count, oldest in counts:
        if count >= limits[bucket]:
            session.rollback()  # a refused request is not counted
            retry_after = int((oldest - window_start).total_seconds()) + 1
            raise TooManyRequests(
                "Too many support messages; please wait a moment and try again.",
                retry_after=retry_after,
            )
    session.commit()
