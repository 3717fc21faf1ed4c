"""The retrain function: nightly and on-demand training runs of the churn and spend models."""
