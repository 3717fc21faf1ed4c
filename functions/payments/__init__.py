"""The payments function: the provider's webhook, payment state, refunds, unpaid-order expiry."""
