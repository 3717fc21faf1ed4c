"""How much one cart may hold, apart from the cart model: the cart function's request schemas
validate against it without mapping the commerce tables at import."""

#: Longest quantity one cart line may hold, and most lines one cart may have.
MAX_LINE_QUANTITY = 100
MAX_CART_LINES = 50
