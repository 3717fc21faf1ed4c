"""The ORM models, one module per concept; importing this package registers every table.

Portable across SQLite, PostgreSQL and MariaDB (no backend-only types). The model modules
do without `from __future__ import annotations`: with it SQLAlchemy evaluates every `Mapped[...]`
string again at class creation, about a tenth of the models' part of each cold start; a class
used before its definition is quoted instead.
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
from shop.models.coupons import Coupon, CouponRedemption
from shop.models.ml import ModelVersion, TrainingRun
from shop.models.payments import PaymentEvent, PaymentRefund, TestModeIntent
from shop.models.retention import CampaignAssignment, OutboxMessage, RetentionCampaign
from shop.models.support import (
    Conversation,
    ConversationMessage,
    SupportRateHit,
    SupportTicket,
)

__all__ = [
    "Base",
    "BehaviorEvent",
    "CampaignAssignment",
    "Cart",
    "CartItem",
    "Conversation",
    "ConversationMessage",
    "Coupon",
    "CouponRedemption",
    "IdempotencyRecord",
    "InventoryMovement",
    "LoginFailure",
    "ModelVersion",
    "Order",
    "OrderItem",
    "OrderStatusChange",
    "OutboxMessage",
    "PaymentEvent",
    "PaymentRefund",
    "Product",
    "RefreshToken",
    "RetentionCampaign",
    "SupportRateHit",
    "SupportTicket",
    "TestModeIntent",
    "ThrottleLock",
    "TimestampMixin",
    "TrainingRun",
    "User",
]
