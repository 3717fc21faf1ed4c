"""The orders function: checkout, order history, status moves and sales figures."""
