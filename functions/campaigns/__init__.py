"""The campaigns function: retention offers from the churn model, their effect, the outbox."""
