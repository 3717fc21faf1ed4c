"""`shopfn import products` on every backend: a plain catalog and a Shopify export (variants,
image-only rows, blank SKUs, HTML descriptions), updates by identity, a SKU used twice,
prices with currency signs and separators, and refused files that change nothing."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path
from typing import Any

SHOPIFY_HEADER = [
    "Handle", "Title", "Body (HTML)", "Vendor", "Type", "Tags", "Published",
    "Option1 Name", "Option1 Value", "Option2 Name", "Option2 Value", "Variant SKU",
    "Variant Inventory Qty", "Variant Price", "Image Src", "Image Position", "Status",
]  # fmt: skip


def _shopify_row(**values: str) -> list[str]:
    return [values.get(name.replace(" ", "_").replace("(", "").replace(")", ""), "")
            for name in SHOPIFY_HEADER]  # fmt: skip


def _write_shopify(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(SHOPIFY_HEADER)
        writer.writerows(rows)


SHOPIFY_ROWS = [
    _shopify_row(
        Handle="gardening-gloves", Title="Gardening Gloves",
        Body_HTML="<p>Soft <b>cotton</b> gloves &amp; a firm grip.</p><ul><li>Washable</li></ul>",
        Type="Garden", Published="TRUE", Option1_Name="Color", Option1_Value="Yellow",
        Variant_SKU="'00123", Variant_Inventory_Qty="12", Variant_Price="$1,299.00",
        Image_Src="https://cdn.example/gloves.jpg", Image_Position="1", Status="active",
    ),
    _shopify_row(Handle="gardening-gloves", Option1_Value="Green", Variant_SKU="GLV-GREEN",
                 Variant_Inventory_Qty="-2", Variant_Price="11.50"),
    _shopify_row(Handle="gardening-gloves", Image_Src="https://cdn.example/g2.jpg",
                 Image_Position="2"),
    _shopify_row(
        Handle="seed-mix", Title="Seed Mix", Body_HTML="Spring flowers<br>500 g",
        Published="FALSE", Option1_Name="Title", Option1_Value="Default Title",
        Variant_Inventory_Qty="3", Variant_Price="4.20", Status="draft",
    ),
    _shopify_row(
        Handle="trowel", Title="Trowel", Option1_Name="Size", Option1_Value="Small",
        Option2_Name="Grip", Option2_Value="Wood", Variant_Price="7.00", Status="archived",
    ),
]  # fmt: skip


def _shopfn(*argv: str) -> int:
    from shopfn.cli import main

    return main(["import", "products", *argv])


def _products() -> dict[str, tuple[str, Decimal, str, int, bool, str]]:
    """(name, price, category, stock, on sale, description) by SKU."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Product

    with session_scope() as session:
        return {
            p.sku: (p.name, p.price, p.category, p.stock, p.is_active, p.description)
            for p in session.scalars(select(Product))
        }


def _ledger() -> list[tuple[str, int, int, str]]:
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import InventoryMovement, Product

    with session_scope() as session:
        rows = session.execute(
            select(Product.sku, InventoryMovement.delta, InventoryMovement.stock_after,
                   InventoryMovement.reason)
            .join(Product, Product.id == InventoryMovement.product_id)
            .order_by(InventoryMovement.id)
        ).all()  # fmt: skip
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_a_shopify_export_is_one_product_per_variant(db: str, tmp_path: Path, capsys: Any) -> None:
    export = tmp_path / "products_export.csv"
    _write_shopify(export, SHOPIFY_ROWS)
    assert _shopfn(str(export), "--layout", "shopify") == 0
    assert "catalog imported: 4 new products, 0 updated, 0 unchanged" in capsys.readouterr().out
    gloves_text = "Soft cotton gloves & a firm grip.\n- Washable"
    assert _products() == {
        "00123": ("Gardening Gloves \u2013 Yellow", Decimal("1299.00"), "Garden", 12, True,
                  gloves_text),
        "GLV-GREEN": ("Gardening Gloves \u2013 Green", Decimal("11.50"), "Garden", 0, True,
                      gloves_text),
        "seed-mix": ("Seed Mix", Decimal("4.20"), "Imported", 3, False, "Spring flowers\n500 g"),
        "trowel/Small/Wood": ("Trowel \u2013 Small / Wood", Decimal("7.00"), "Imported", 0,
                              False, ""),
    }  # fmt: skip
    assert _ledger() == [("00123", 12, 12, "opening stock"), ("seed-mix", 3, 3, "opening stock")]

    # Again: nothing changes. Then a later export: a new price and stock, found by identity.
    assert _shopfn(str(export), "--layout", "shopify") == 0
    assert "0 new products, 0 updated, 4 unchanged" in capsys.readouterr().out
    rows = [list(row) for row in SHOPIFY_ROWS]
    rows[0][SHOPIFY_HEADER.index("Variant Inventory Qty")] = "9"
    rows[4][SHOPIFY_HEADER.index("Variant Price")] = "7.50"
    _write_shopify(export, rows)
    assert _shopfn(str(export), "--layout", "shopify") == 0
    assert "0 new products, 2 updated, 2 unchanged" in capsys.readouterr().out
    products = _products()
    assert len(products) == 4
    assert products["trowel/Small/Wood"][1] == Decimal("7.50")
    assert _ledger()[-1] == ("00123", -3, 9, "stock set by catalog import")


def test_a_plain_catalog_updates_by_sku_and_reports_bad_lines(
    db: str, tmp_path: Path, capsys: Any
) -> None:
    catalog = tmp_path / "catalog.csv"
    catalog.write_text(
        "code;title;price;group;qty;on sale\n"
        "A-1;Apples 1 kg;\u20ac 1.299,50;Fruit;10;yes\n"
        "B-2;Bread;2,50;Bakery;;no\n"
        "A-1;Apples again;3.00;Fruit;1;yes\n"  # line 4: the SKU of line 2
        "C-3;Cheese;12\u20ac50;Dairy;1;yes\n"  # line 5: no price
        "D-4;Dates;0.00;Fruit;1;yes\n"  # line 6: price zero
        "E-5;Eggs;1,2,3;Dairy;1;yes\n"  # line 7: separators in the wrong places
        "F-6;Figs;4.999;Fruit;1;maybe\n"  # line 8: active is not yes or no
    )
    flags = ["--sku-column", "code", "--name-column", "title", "--category-column", "group"]
    flags += ["--stock-column", "qty", "--active-column", "on sale"]
    assert _shopfn(str(catalog), *flags) == 1  # abort: nothing written
    err = capsys.readouterr().err
    assert "import refused, nothing was written: 5 bad line(s)" in err
    assert (
        "line 4: SKU 'A-1' is on line 2 and again on line 4: line 2 was kept, "
        "line 4 was not imported" in err
    )
    assert "line 5: price '12\u20ac50' is not a number" in err
    assert "line 6: price '0.00' is zero: a product needs a price above zero" in err
    assert "line 7: price '1,2,3' has its separators in the wrong places" in err
    assert "line 8: active 'maybe' is not one of yes, no, active, draft or archived" in err
    assert "A-1" not in _products()

    report = tmp_path / "rejected.csv"
    assert _shopfn(str(catalog), *flags, "--on-error", "skip", "--report", str(report)) == 0
    out = capsys.readouterr().out
    assert "catalog imported: 2 new products, 0 updated, 0 unchanged" in out
    assert "5 lines rejected" in out
    assert len(report.read_text().splitlines()) == 6
    products = _products()
    assert products["A-1"] == ("Apples 1 kg", Decimal("1299.50"), "Fruit", 10, True, "")
    assert products["B-2"] == ("Bread", Decimal("2.50"), "Bakery", 0, False, "")

    # A SKU of the catalog is updated, never duplicated; stock left blank is kept.
    from shop.db import session_scope
    from shop.services.seed import seed_catalog

    with session_scope() as session:
        seed_catalog(session)
    update = tmp_path / "update.csv"
    update.write_text("sku,name,price,stock\nB-2,Sourdough bread,3.10,\nEL-1001,Headphones,99,5\n")
    assert _shopfn(str(update)) == 0
    assert "0 new products, 2 updated, 0 unchanged" in capsys.readouterr().out
    products = _products()
    assert products["B-2"] == ("Sourdough bread", Decimal("3.10"), "Bakery", 0, False, "")
    assert products["EL-1001"][:4] == ("Headphones", Decimal("99.00"), "Electronics", 5)


def test_a_file_that_cannot_be_read_changes_nothing(db: str, tmp_path: Path, capsys: Any) -> None:
    before = _products()
    missing = tmp_path / "catalog.csv"
    missing.write_text("sku,title\nA,Apples\n")
    assert _shopfn(str(missing)) == 1
    assert "line 1: missing column(s) price, name" in capsys.readouterr().err
    not_shopify = tmp_path / "export.csv"
    not_shopify.write_text("sku,name,price\nA,Apples,1.00\n")
    assert _shopfn(str(not_shopify), "--layout", "shopify") == 1
    assert "missing column(s) Handle, Title, Variant Price" in capsys.readouterr().err
    assert _shopfn(str(tmp_path / "nowhere.csv")) == 2
    assert _products() == before


def test_skus_differing_only_in_case_are_two_products(db: str, tmp_path: Path, capsys: Any) -> None:
    """On every database, MariaDB included: "85123A" and "85123a" are two SKUs, and a
    re-import updates each by its own SKU."""
    catalog = tmp_path / "catalog.csv"
    catalog.write_text("sku,name,price\n85123A,White heart,2.55\n85123a,Red heart,2.95\n")
    assert _shopfn(str(catalog)) == 0
    assert "catalog imported: 2 new products, 0 updated, 0 unchanged" in capsys.readouterr().out
    catalog.write_text("sku,name,price\n85123a,Red heart,3.10\n")
    assert _shopfn(str(catalog)) == 0
    assert "0 new products, 1 updated, 0 unchanged" in capsys.readouterr().out
    products = _products()
    assert products["85123A"][:2] == ("White heart", Decimal("2.55"))
    assert products["85123a"][:2] == ("Red heart", Decimal("3.10"))
