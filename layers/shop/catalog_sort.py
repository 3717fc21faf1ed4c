"""The catalog's sort orders, apart from the catalog service: the products function's list
route declares them as its `sort` parameter without loading the service and its models at
import."""

from typing import Literal

SortKey = Literal["name", "-name", "price", "-price", "newest"]
