"""Business rules. Services take a Session, raise `shop.errors`, and never see HTTP."""
