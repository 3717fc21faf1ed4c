"""The ORM models, one module per concept; importing this package registers every table.

Portable across SQLite, PostgreSQL and MariaDB (no backend-only types).
"""

from shop.models.accounts import LoginFailure, RefreshToken, User
from shop.models.base import Base, TimestampMixin
from shop.models.behavior import BehaviorEvent
from shop.models.catalog import InventoryMovement, Product

__all__ = [
    "Base",
    "BehaviorEvent",
    "InventoryMovement",
    "LoginFailure",
    "Product",
    "RefreshToken",
    "TimestampMixin",
    "User",
]
