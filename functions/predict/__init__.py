"""The predict function: churn and spend predictions, behavior analytics, model monitoring."""
