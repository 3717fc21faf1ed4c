"""Each function maps only the models its code reaches, and every table they point to.

`shop.models` loads a model's module on first use, with the modules its foreign keys name:
the ORM's flush orders tables by their foreign keys and fails on one pointing to a table it
does not know. Each case runs in a fresh interpreter, as a Lambda container starts.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shopfn.manifest import load_manifest

#: Run in the child: every mapped table's foreign keys resolve, every mapper configures.
CHECK = """
import sys
from sqlalchemy.orm import configure_mappers
from shop.models.base import Base

configure_mappers()
for table in Base.metadata.tables.values():
    for key in table.foreign_keys:
        key.column  # raises NoReferencedTableError for a table not mapped here
print(" ".join(sorted(Base.metadata.tables)))
"""

MODULE_NAMES = {
    "accounts": "User",
    "behavior": "BehaviorEvent",
    "catalog": "Product",
    "commerce": "Order",
    "coupons": "Coupon",
    "ml": "ModelVersion",
    "payments": "PaymentRefund",
    "retention": "CampaignAssignment",
    "support": "SupportTicket",
}


def _mapped_tables(setup: str) -> set[str]:
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [sys.executable, "-c", setup + CHECK], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split("\n")[-2].split())


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_a_model_module_alone_brings_every_table_its_foreign_keys_name(module: str) -> None:
    tables = _mapped_tables(f"from shop.models import {MODULE_NAMES[module]}\n")
    from shop.models import load_all

    assert tables <= set(load_all().metadata.tables)


def test_a_model_module_imported_directly_gets_its_tables_before_the_orm_runs() -> None:
    tables = _mapped_tables("from shop.models.commerce import MAX_LINE_QUANTITY, Cart\n")
    assert {"carts", "users", "products", "coupons"} <= tables


@pytest.mark.parametrize("function", [spec.name for spec in load_manifest().functions])
def test_a_function_maps_only_what_it_reaches_and_resolves_it(function: str) -> None:
    tables = _mapped_tables(
        "from shopfn.loader import load_handler\n"
        "from shopfn.manifest import load_manifest\n"
        f"load_handler(load_manifest().get({function!r}))\n"
    )
    from shop.models import load_all

    assert "users" in tables  # every function checks tokens against the account
    assert tables < set(load_all().metadata.tables), f"{function} maps every model"
