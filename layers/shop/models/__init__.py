"""The ORM models, one module per concept, each loaded when a name from it is first asked for.

`from shop.models import User` maps the account models only: a function maps the models its
code reaches, not all of them, which is most of the models' share of a cold start. Every
relationship is between models of one module (or imports its target, as coupons do). The
ORM's flush orders the tables by their foreign keys, so it needs every table a mapped one
points to: a module comes with the modules its foreign keys name (`_POINTS_TO`; checked
by tests/api/test_lazy_models.py). `Base` (its `metadata` holds the whole schema, for
migrations and tests) loads every module.

Portable across SQLite, PostgreSQL and MariaDB (no backend-only types). The model modules
do without `from __future__ import annotations`: with it SQLAlchemy evaluates every `Mapped[...]`
string again at class creation, about a tenth of the models' part of each cold start; a class
used before its definition is quoted instead.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.orm import Mapper

if TYPE_CHECKING:
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

#: Each model's module under `shop.models`.
_MODULES: dict[str, str] = {
    "LoginFailure": "accounts",
    "RefreshToken": "accounts",
    "ThrottleLock": "accounts",
    "User": "accounts",
    "TimestampMixin": "base",
    "BehaviorEvent": "behavior",
    "InventoryMovement": "catalog",
    "Product": "catalog",
    "Cart": "commerce",
    "CartItem": "commerce",
    "IdempotencyRecord": "commerce",
    "Order": "commerce",
    "OrderItem": "commerce",
    "OrderStatusChange": "commerce",
    "Coupon": "coupons",
    "CouponRedemption": "coupons",
    "ModelVersion": "ml",
    "TrainingRun": "ml",
    "PaymentEvent": "payments",
    "PaymentRefund": "payments",
    "TestModeIntent": "payments",
    "CampaignAssignment": "retention",
    "OutboxMessage": "retention",
    "RetentionCampaign": "retention",
    "Conversation": "support",
    "ConversationMessage": "support",
    "SupportRateHit": "support",
    "SupportTicket": "support",
}

#: The modules whose tables each module's foreign keys point to, loaded with it.
_POINTS_TO: dict[str, tuple[str, ...]] = {
    "accounts": (),
    "base": (),
    "behavior": ("accounts",),
    "catalog": ("accounts",),
    "commerce": ("accounts", "catalog", "coupons"),
    "coupons": ("accounts", "commerce"),
    "ml": (),
    "payments": ("accounts", "commerce"),
    "retention": ("accounts", "coupons"),
    "support": ("accounts",),
}

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


#: The modules loaded through `_load`, with what they point to (a model module importing
#: another, as coupons does, loads it without its own foreign keys' modules).
_loaded: set[str] = set()


def _load(module: str) -> ModuleType:
    """`shop.models.<module>`, with every module its foreign keys point to."""
    loaded = import_module(f"shop.models.{module}")
    if module not in _loaded:
        _loaded.add(module)
        for needed in _POINTS_TO[module]:
            _load(needed)
    return loaded


@event.listens_for(Mapper, "before_configured")
def _complete_foreign_keys() -> None:
    """Before the ORM sets up its mappers (first query or new object): a model module imported
    directly (`from shop.models.commerce import ACTOR_KINDS`) brings its foreign keys'
    modules too."""
    for module in _POINTS_TO:
        if module not in _loaded and f"shop.models.{module}" in sys.modules:
            _load(module)


def load_all() -> type[Base]:
    """Map every model (the whole schema in `Base.metadata`) and return the declarative base."""
    for module in _POINTS_TO:
        _load(module)
    from shop.models.base import Base

    return Base


def __getattr__(name: str) -> Any:
    """A model, its module imported on first use (PEP 562); `Base` after every module."""
    if name == "Base":
        return load_all()
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(_load(module), name)


def __dir__() -> list[str]:
    return [*globals(), *__all__]
