"""Chat throttling per user and per client address, kept in the database.

Lambda containers share nothing, so the count lives in a table: one row per counted request
and bucket, a sliding window, old rows pruned as new ones arrive. Refused requests are not
counted, so a client that keeps hammering is let back in once its window has passed.
"""

from __future__ import annotations

import ipaddress
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from shop.coltypes import utcnow
from shop.errors import TooManyRequests
from shop.models import SupportRateHit
from shop.settings import get_settings
from shop.tokens import Principal


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
    for bucket, limit in buckets:
        count, oldest = session.execute(
            select(func.count(), func.min(SupportRateHit.hit_at)).where(
                SupportRateHit.bucket == bucket, SupportRateHit.hit_at > window_start
            )
        ).one()
        if count >= limit and oldest is not None:
            session.rollback()
            retry_after = int((oldest - window_start).total_seconds()) + 1
            raise TooManyRequests(
                "Too many support messages; please wait a moment and try again.",
                retry_after=retry_after,
            )
    names = [bucket for bucket, _ in buckets]
    session.execute(
        delete(SupportRateHit).where(
            SupportRateHit.bucket.in_(names), SupportRateHit.hit_at <= window_start
        )
    )
    session.add_all(SupportRateHit(bucket=bucket, hit_at=now) for bucket in names)
    session.commit()
