"""Reading a catalog file: plain columns named by flags, or a Shopify product export as is.

Each record becomes a `CatalogProduct` (one product, identified by its SKU) or a `Rejected`
with its reason, streamed. A SKU a file already used is rejected on its later line with a
sentence naming both lines.

A Shopify export has a row per variant and per extra image, grouped by `Handle`; only a
handle's first row carries the title, description, type and status, so later rows take
them from it. Each variant is a product named after its title and option values, joined by
an en dash ("Gardening Gloves", "Yellow"; never Shopify's "Default Title"); rows without a
Variant Price (extra images) add nothing. A variant without a Variant SKU is identified by
its handle and option values, kept as its SKU.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from hashlib import blake2b
from pathlib import Path
from typing import Literal

from shopfn.catalog_values import (
    MOST_CATEGORY_CHARACTERS,
    MOST_NAME_CHARACTERS,
    MOST_SKU_CHARACTERS,
    BadValue,
    html_to_text,
    read_active,
    read_price,
    read_sku,
    read_stock,
    read_text,
)
from shopfn.transaction_log import DelimitedFile, LogUnreadable, Rejected, reading

Layout = Literal["plain", "shopify"]
#: The category of a product whose line names none.
DEFAULT_CATEGORY = "Imported"
_DEFAULT_OPTION = "Default Title"
_DASH = "\u2013"  # an en dash, as Shopify's storefront joins a title and its options
#: Shopify's columns for the category, in the order they are used (the first filled in).
_SHOPIFY_CATEGORY = ("Type", "Custom Product Type", "Standard Product Type", "Product Category")
_SHOPIFY_REQUIRED = ("Handle", "Title", "Variant Price")


@dataclass(frozen=True)
class CatalogColumns:
    """The plain layout's column names (`--sku-column` and the like)."""

    sku: str = "sku"
    name: str = "name"
    description: str = "description"
    price: str = "price"
    category: str = "category"
    stock: str = "stock"
    active: str = "active"


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """One product as the file gives it; None is a value the file does not give."""

    line: int
    sku: str
    name: str
    price: Decimal
    description: str | None
    category: str | None
    stock: int | None
    active: bool | None


@dataclass(frozen=True, slots=True)
class _Handle:
    """What a Shopify handle's first row says for all of its rows."""

    title: str
    description: str
    category: str | None
    active: bool | None


class CatalogFile(DelimitedFile):
    """An open catalog file: `header`, then `products()`."""

    def __init__(
        self, path: Path, layout: Layout, columns: CatalogColumns, delimiter: str = "auto"
    ) -> None:
        super().__init__(path, delimiter)
        self.layout = layout
        self.columns = columns
        required: tuple[str, ...] = (
            _SHOPIFY_REQUIRED if layout == "shopify" else (columns.sku, columns.price)
        )
        required += () if layout == "shopify" else (columns.name,)
        missing = [name for name in required if name not in self.header]
        if not any(self.header) or missing:
            self._raw.close()
            found = ", ".join(self.header[:12])
            problem = "the file is empty or has no header line" if not any(self.header) else ""
            problem = problem or f"missing column(s) {', '.join(missing)} (the file has: {found})"
            raise LogUnreadable(f"line 1: {problem}")

    def products(self) -> Iterator[CatalogProduct | Rejected]:
        """Every product of the file in order; LogUnreadable if reading breaks."""
        read = self._shopify_row() if self.layout == "shopify" else self._plain_row()
        width = len(self.header)
        reader = self._reader(self._text)
        first_line: dict[str, int] = {}
        while True:
            start = reader.line_num + 2  # a record may span lines (quoted line breaks)
            fields = reading(start, lambda: next(reader, None))
            if fields is None:
                return
            if not fields or fields == [""]:
                continue
            if len(fields) != width:
                yield Rejected(start, f"has {len(fields)} fields, the header has {width}", fields)
                continue
            try:
                product = read(start, fields)
            except BadValue as problem:
                yield Rejected(start, str(problem), fields)
                continue
            if product is None:
                continue
            earlier = first_line.setdefault(product.sku, start)
            if earlier != start:
                reason = (
                    f"SKU {product.sku!r} is on line {earlier} and again on line {start}: "
                    f"line {earlier} was kept, line {start} was not imported"
                )
                yield Rejected(start, reason, fields)
                continue
            yield product

    def _at(self, name: str) -> int | None:
        return self.header.index(name) if name in self.header else None

    def _plain_row(self) -> Callable[[int, list[str]], CatalogProduct]:
        c = self.columns
        at = {name: self._at(getattr(c, name)) for name in CatalogColumns.__dataclass_fields__}

        def value(name: str, fields: list[str]) -> str | None:
            index = at[name]
            return None if index is None else fields[index]

        def read(line: int, fields: list[str]) -> CatalogProduct:
            description = value("description", fields)
            category = value("category", fields)
            stock, active = value("stock", fields), value("active", fields)
            return CatalogProduct(
                line,
                read_sku(fields[at["sku"]]),  # type: ignore[index]
                read_text(fields[at["name"]], "name", MOST_NAME_CHARACTERS),  # type: ignore[index]
                read_price(fields[at["price"]]),  # type: ignore[index]
                None if description is None else description.strip(),
                None if not (category or "").strip() else _category(category),  # type: ignore[arg-type]
                None if stock is None else read_stock(stock),
                None if active is None else read_active(active),
            )

        return read

    def _shopify_row(self) -> Callable[[int, list[str]], CatalogProduct | None]:
        handles: dict[str, _Handle] = {}
        at = {name: self._at(name) for name in self.header}

        def value(name: str, fields: list[str]) -> str:
            index = at.get(name)
            return "" if index is None else fields[index].strip()

        def read(line: int, fields: list[str]) -> CatalogProduct | None:
            handle = value("Handle", fields)
            if not handle:
                raise BadValue("Handle is empty")
            first = handles.get(handle)
            if first is None:
                first = handles[handle] = _first_row(value, fields)
            price = value("Variant Price", fields)
            if not price:
                return None  # an image of the product, or a row with nothing to sell
            if not first.title:
                raise BadValue(f"Title is empty on the first line of handle {handle!r}")
            options = [value(f"Option{n} Value", fields) for n in (1, 2, 3)]
            options = [o for o in options if o and o != _DEFAULT_OPTION]
            name = f"{first.title} {_DASH} {' / '.join(options)}" if options else first.title
            sku_text = value("Variant SKU", fields).lstrip("'").strip()
            sku = read_sku(sku_text) if sku_text else _handle_sku(handle, options)
            return CatalogProduct(
                line,
                sku,
                read_text(name, "Title", MOST_NAME_CHARACTERS),
                read_price(price),
                first.description,
                first.category,
                read_stock(value("Variant Inventory Qty", fields)),
                first.active,
            )

        return read


def _first_row(value: Callable[[str, list[str]], str], fields: list[str]) -> _Handle:
    """The handle's title, plain-text description, category and status from its first row."""
    category = next((value(c, fields) for c in _SHOPIFY_CATEGORY if value(c, fields)), "")
    status = value("Status", fields) or value("Published", fields)
    try:
        active = read_active(status)
    except BadValue:
        active = None
    return _Handle(
        title=" ".join(value("Title", fields).split()),
        description=html_to_text(value("Body (HTML)", fields)),
        category=_category(category) if category else None,
        active=active,
    )


def _category(raw: str) -> str:
    """A category: Shopify's "Home & Garden > Gardening > Gloves" is "Gloves"."""
    return read_text(raw.rsplit(">", maxsplit=1)[-1], "category", MOST_CATEGORY_CHARACTERS)


def _handle_sku(handle: str, options: list[str]) -> str:
    """The SKU of a variant without one: its handle and option values ("gloves/Yellow"),
    shortened with a digest when longer than a SKU may be."""
    sku = "/".join([handle, *options])
    if len(sku) <= MOST_SKU_CHARACTERS:
        return sku
    digest = blake2b(sku.encode(), digest_size=6).hexdigest()
    return f"{sku[: MOST_SKU_CHARACTERS - 13]}~{digest}"
