"""The cart function: each user's persisted shopping cart."""
