"""Each model module brings every table it points to; a function's cold start maps none.

`shop.models` loads a model's module on first use, with the modules its foreign keys name:
the ORM's flush orders tables by their foreign keys and fails on one pointing to a table it
does not know. A function imports its services, and with them the ORM and the models, in the
routes that use them: its cold start answering a health check loads neither. Each case runs
in a fresh interpreter, as a Lambda container starts.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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


def _mapped_tables(setup: str, env: dict[str, str] | None = None) -> tuple[set[str], str]:
    """The tables mapped once `setup` and CHECK ran in a fresh interpreter, and its output."""
    env = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", **(env or {})}
    done = subprocess.run(
        [sys.executable, "-c", setup + CHECK], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return set(done.stdout.split("\n")[-2].split()), done.stdout


@pytest.mark.parametrize("module", sorted(MODULE_NAMES))
def test_a_model_module_alone_brings_every_table_its_foreign_keys_name(module: str) -> None:
    tables, _ = _mapped_tables(f"from shop.models import {MODULE_NAMES[module]}\n")
    from shop.models import load_all

    assert tables <= set(load_all().metadata.tables)


def test_a_model_module_imported_directly_gets_its_tables_before_the_orm_runs() -> None:
    tables, _ = _mapped_tables("from shop.models.commerce import MAX_LINE_QUANTITY, Cart\n")
    assert {"carts", "users", "products", "coupons"} <= tables


#: Run in the child after a function's cold start: what it loaded, before CHECK loads the ORM.
LOADED = """
loaded = [n for n in sys.modules if n == "sqlalchemy.orm" or n.startswith("shop.models")]
print("loaded:", " ".join(sorted(loaded)) or "-")
"""


@pytest.mark.parametrize("function", [spec.name for spec in load_manifest().functions])
def test_a_function_cold_start_loads_neither_the_orm_nor_a_model(
    function: str, tmp_path: Path
) -> None:
    setup = (
        "import sys\n"
        "from shopfn.apigw import build_event\n"
        "from shopfn.lambda_context import LocalLambdaContext\n"
        "from shopfn.loader import load_handler\n"
        "from shopfn.manifest import load_manifest\n"
        f"spec = load_manifest().get({function!r})\n"
        "event = build_event(spec, 'GET', spec.prefix + '/health')\n"
        "reply = load_handler(spec)(event, LocalLambdaContext(function_name=spec.name))\n"
        "assert reply['statusCode'] == 200, reply\n"
    )
    env = {"DATA_DIR": str(tmp_path), "DATABASE_URL": ""}
    tables, output = _mapped_tables(setup + LOADED, env)
    assert "loaded: -" in output, f"{function}'s cold start loaded {output}"
    assert tables == set()
