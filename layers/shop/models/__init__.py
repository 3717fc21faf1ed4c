"""The ORM models, one module per concept; importing this package registers every table.

Portable across SQLite, PostgreSQL and MariaDB (no backend-only types).
"""

from shop.models.accounts import LoginFailure, RefreshToken, ThrottleLock, User
from shop.models.base import Base, TimestampMixin
from shop.models.behavior import BehaviorEvent
from shop.models.catalog import InventoryMovement, Product
from shop.models.commerce import (
    Cart,
    CartItem,
    IdempotencyRecord,
    Order,
    OrderItem,
    OrderStatusChange,
)
from shop.models.ml import ModelVersion, TrainingRun
from shop.models.payments import PaymentEvent, PaymentRefund, TestModeIntent
from shop.models.support import (
    Conversation,
    ConversationMessage,
    SupportRateHit,
    SupportTicket,
)

__all__ = [
    "Base",
    "BehaviorEvent",
    "Cart",
    "CartItem",
    "Conversation",
    "ConversationMessage",
    "IdempotencyRecord",
    "InventoryMovement",
    "LoginFailure",
    "ModelVersion",
    "Order",
    "OrderItem",
    "OrderStatusChange",
    "PaymentEvent",
    "PaymentRefund",
    "Product",
    "RefreshToken",
    "SupportRateHit",
    "SupportTicket",
    "TestModeIntent",
    "ThrottleLock",
    "TimestampMixin",
    "TrainingRun",
    "User",
]
