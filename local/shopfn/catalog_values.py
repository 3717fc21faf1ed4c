"""Reading a catalog file's values as shops write them: prices with currency signs and
thousands separators, yes/no and Shopify's statuses, stock counts, SKUs copied through a
spreadsheet, and HTML descriptions as plain text. Each reader returns the value or raises
`BadValue` with a sentence a shop owner can act on."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from html.parser import HTMLParser

MOST_SKU_CHARACTERS = 64
MOST_NAME_CHARACTERS = 200
MOST_CATEGORY_CHARACTERS = 100
_TOO_LARGE = Decimal("10000000000")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
#: A price: what comes before the number (a currency sign or code), the number, what follows.
_PRICE = re.compile(r"(?P<before>[^\d.,-]*?)\s*(?P<number>-?\d[\d.,' \u00a0\u202f]*)(?P<after>.*)")
_CURRENCY = re.compile(r"[$€£¥₹₩₽₺₪¢]|[A-Za-z]{1,3}\.?|[A-Za-z]{1,3}\$")
_GROUPED = re.compile(r"\d{1,3}(?:[.,]\d{3})+")
_YES = {"yes", "y", "true", "1", "active", "on sale", "published"}
_NO = {"no", "n", "false", "0", "draft", "archived", "inactive", "unpublished"}
#: Tags that start a new line of text in a description.
_BLOCKS = {"p", "br", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table"}


class BadValue(ValueError):
    """A value that cannot be read; the message says which and why."""


def read_price(raw: str) -> Decimal:
    """`raw` as an amount above zero with at most two decimals: "$1,299.00", "1.299,00 €",
    "EUR 12,50" and "1 299" are read; anything else is BadValue with the reason."""
    text = raw.strip()
    if not text:
        raise BadValue("price is empty")
    match = _PRICE.fullmatch(text)
    if match is None:
        raise BadValue(f"price {text!r} is not a number")
    for part in (match["before"].strip(), match["after"].strip()):
        if part and not _CURRENCY.fullmatch(part):
            raise BadValue(f"price {text!r} is not a number (what is {part!r}?)")
    number = re.sub(r"[' \u00a0\u202f]", "", match["number"])
    if number.startswith("-"):
        raise BadValue(f"price {text!r} is below zero")
    value = _number(number, text)
    if value != value.quantize(Decimal("0.01")):
        raise BadValue(f"price {text!r} has more than two decimals")
    if value <= 0:
        raise BadValue(f"price {text!r} is zero: a product needs a price above zero")
    if value >= _TOO_LARGE:
        raise BadValue(f"price {text!r} is too large")
    return value.quantize(Decimal("0.01"))


def _number(number: str, shown: str) -> Decimal:
    """Digits with "." and "," as decimal or thousands separators, as a Decimal."""
    last_dot, last_comma = number.rfind("."), number.rfind(",")
    if last_dot >= 0 and last_comma >= 0:  # both: the later one is the decimal mark
        mark = "." if last_dot > last_comma else ","
        whole, decimals = (
            number[: max(last_dot, last_comma)],
            number[max(last_dot, last_comma) + 1 :],
        )
        _check_groups(whole, "," if mark == "." else ".", shown)
    elif last_comma >= 0 or last_dot >= 0:
        mark = "," if last_comma >= 0 else "."
        parts = number.split(mark)
        if len(parts) == 2 and len(parts[1]) != 3:  # 12,5 or 12.50: a decimal mark
            whole, decimals = parts
        elif all(len(part) == 3 for part in parts[1:]) and 1 <= len(parts[0]) <= 3:
            whole, decimals = number.replace(mark, ""), ""  # 1,299 or 1.299.000: thousands
        else:
            raise BadValue(f"price {shown!r} has its separators in the wrong places")
    else:
        whole, decimals = number, ""
    try:
        return Decimal(f"{whole.replace(',', '').replace('.', '')}.{decimals or '0'}")
    except InvalidOperation:
        raise BadValue(f"price {shown!r} is not a number") from None


def _check_groups(whole: str, separator: str, shown: str) -> None:
    if separator in whole and not _GROUPED.fullmatch(whole):
        raise BadValue(f"price {shown!r} has its thousands separators in the wrong places")
    if not whole.replace(separator, "").isdigit():
        raise BadValue(f"price {shown!r} is not a number")


def read_sku(raw: str, what: str = "SKU") -> str:
    """A SKU as the shop wrote it, without a spreadsheet's leading apostrophe."""
    sku = raw.strip().lstrip("'").strip()
    if not sku:
        raise BadValue(f"{what} is empty")
    if len(sku) > MOST_SKU_CHARACTERS:
        raise BadValue(f"{what} {sku[:20]!r}... is longer than {MOST_SKU_CHARACTERS} characters")
    if _CONTROL.search(sku):
        raise BadValue(f"{what} holds a control character (a tab, NUL or similar)")
    return sku


def read_text(raw: str, what: str, most: int) -> str:
    """One line of text (names, categories): control characters and runs of spaces as one."""
    text = " ".join(_CONTROL.sub(" ", raw).split())
    if not text:
        raise BadValue(f"{what} is empty")
    if len(text) > most:
        raise BadValue(f"{what} is longer than {most} characters")
    return text


def read_stock(raw: str) -> int | None:
    """Units in stock (None when blank); below zero (a shop that oversold) counts as 0."""
    text = raw.strip()
    if not text:
        return None
    try:
        stock = int(Decimal(text.replace(",", "")))
    except (InvalidOperation, ValueError):
        raise BadValue(f"stock {text!r} is not a whole number") from None
    if Decimal(text.replace(",", "")) != stock:
        raise BadValue(f"stock {text!r} is not a whole number")
    if stock > 1_000_000_000:
        raise BadValue(f"stock {text!r} is too large")
    return max(stock, 0)


def read_active(raw: str) -> bool | None:
    """Whether the product is on sale: yes/no, true/false, 1/0, or Shopify's active / draft /
    archived; None when blank."""
    text = raw.strip().lower()
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise BadValue(f"active {raw.strip()!r} is not one of yes, no, active, draft or archived")


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("- ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    """An HTML description as plain text: tags gone, entities read, a line per paragraph or
    list item, no blank runs."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)
