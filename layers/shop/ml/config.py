"""ML knobs from the environment (kept apart from the shop-wide settings)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field

from shop.env_settings import EnvSettings


class MlSettings(EnvSettings):
    churn_horizon_days: int = Field(default=30, ge=7, le=365, description="churn: no order in N")
    train_cutoffs: int = Field(default=3, ge=1, le=12, description="stacked training cutoffs")
    min_users_with_history: int = Field(default=50, ge=1, description="fewer: the run is skipped")
    retrain_schedule: str = Field(
        default="03:00", description="local nightly retrain: 'HH:MM' UTC, 'every:SECONDS' or 'off'"
    )
    retrain_check_schedule: str = Field(
        default="every:900",
        description="local new-data and drift check: 'every:SECONDS', 'HH:MM' UTC or 'off'",
    )
    retrain_new_data_share: float = Field(
        default=0.25,
        gt=0,
        le=10,
        description="queue a run when orders or events since the latest run exceed this share",
    )
    retrain_drift_psi: float = Field(
        default=0.25, gt=0, le=10, description="queue a run when a feature's PSI exceeds this"
    )
    retrain_drift_sample: int = Field(
        default=300, ge=50, le=5000, description="users sampled by the check's drift part"
    )
    retrain_ecs_above_events: int = Field(
        default=0, ge=0, description="runs over more behavior events go to ECS (0: never)"
    )
    retrain_rule_expression: str | None = Field(
        default=None, description="AWS: the nightly EventBridge rule's expression (set by CDK)"
    )
    retrain_rule_name: str | None = Field(
        default=None, description="AWS: the nightly EventBridge rule's name (set by CDK)"
    )
    seed_demo_history: bool = Field(
        default=True, description="`shopfn serve` on an empty shop simulates a history and trains"
    )
    model_cache_seconds: float = Field(
        default=60.0, description="how often the predict function re-reads champion pointers"
    )


@lru_cache(maxsize=1)
def get_ml_settings() -> MlSettings:
    return MlSettings()
