"""Paging for service queries: count and slice in SQL, never in Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import Select, func, select

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

T = TypeVar("T")


@dataclass(frozen=True)
class PageRequest:
    page: int = 1
    page_size: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.page_size


@dataclass(frozen=True)
class PageResult(Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


def paginate(session: Session, query: Select[Any], request: PageRequest) -> PageResult[Any]:
    """Run `query` for one page, with the total count of all matching rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(session.scalars(query.limit(request.page_size).offset(request.offset)))
    return PageResult(items=items, total=total, page=request.page, page_size=request.page_size)
