"""Deployment settings, read once from CDK context (`cdk deploy -c stage=prod`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import aws_logs as logs
from constructs import Node

ROOT = Path(__file__).resolve().parents[2]
STAGES = ("dev", "prod")
AZ_COUNT = 2  # when the stage names none: the region's first two


@dataclass(frozen=True)
class StageConfig:
    """What differs between dev and prod, and where the build artifacts are."""

    stage: str
    build_dir: Path
    region: str
    account: str | None
    manifest: Path
    alarm_email: str | None = None
    certificate_arn: str | None = None
    retrain_schedule: str = "cron(0 3 * * ? *)"  # nightly, 03:00 UTC
    housekeeping_schedule: str = "rate(1 hour)"  # each run purges what its 20 s allow
    retrain_check_schedule: str = "rate(15 minutes)"  # new-data and drift check
    payment_expiry_schedule: str = "rate(5 minutes)"  # unpaid orders past their hold
    shop_currency: str = "USD"  # what orders are paid in (SHOP_CURRENCY)
    # Above this many behavior events a run goes to the ECS task (docs/deploy.md: sizing).
    retrain_ecs_above_events: int = 8_000_000
    #: Empty: the region's first two AZs, as the account sees them at deploy time (Fn::GetAZs).
    availability_zones: tuple[str, ...] = ()
    api_p99_latency_ms: int = 3000

    def __post_init__(self) -> None:
        if self.is_prod and not self.certificate_arn:
            raise ValueError(
                "The prod stage serves the dashboard over HTTPS only, so that passwords and "
                "tokens never travel in clear: set the ARN of an ACM certificate for its "
                "domain, e.g. `cdk deploy -c stage=prod -c certificateArn=arn:aws:acm:...` "
                "(or `certificateArn` in cdk.json)."
            )

    @property
    def is_prod(self) -> bool:
        return self.stage == "prod"

    @property
    def nat_gateways(self) -> int:
        return 2 if self.is_prod else 1

    @property
    def log_retention(self) -> logs.RetentionDays:
        return logs.RetentionDays.THREE_MONTHS if self.is_prod else logs.RetentionDays.TWO_WEEKS

    @property
    def prefix(self) -> str:
        """The prefix of every physical name, e.g. `shopfn-dev`."""
        return f"shopfn-{self.stage}"

    @classmethod
    def from_context(cls, node: Node) -> StageConfig:
        def value(key: str, default: Any = None) -> Any:
            found = node.try_get_context(key)
            return default if found in (None, "") else found

        stage = str(value("stage", "dev"))
        if stage not in STAGES:
            raise ValueError(f"context stage must be one of {STAGES}, not {stage!r}")
        return cls(
            stage=stage,
            region=str(
                value("region")
                or os.environ.get("CDK_DEFAULT_REGION")
                or os.environ.get("AWS_REGION")
                or "us-east-1"
            ),
            account=value("account") or os.environ.get("CDK_DEFAULT_ACCOUNT"),
            build_dir=_path(value("buildDir", "build")),
            manifest=_path(value("manifest", "functions/manifest.toml")),
            alarm_email=value("alarmEmail"),
            certificate_arn=value("certificateArn"),
            retrain_schedule=str(value("retrainSchedule", cls.retrain_schedule)),
            housekeeping_schedule=str(value("housekeepingSchedule", cls.housekeeping_schedule)),
            retrain_check_schedule=str(value("retrainCheckSchedule", cls.retrain_check_schedule)),
            payment_expiry_schedule=str(
                value("paymentExpirySchedule", cls.payment_expiry_schedule)
            ),
            shop_currency=str(value("shopCurrency", cls.shop_currency)).upper(),
            retrain_ecs_above_events=int(
                value("retrainEcsAboveEvents", cls.retrain_ecs_above_events)
            ),
            api_p99_latency_ms=int(value("apiP99LatencyMs", cls.api_p99_latency_ms)),
            availability_zones=_names(value("availabilityZones", ())),
        )


def _names(raw: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`-c availabilityZones=eu-west-1a,eu-west-1b` or a list in cdk.json."""
    items = raw.split(",") if isinstance(raw, str) else raw
    return tuple(name.strip() for name in items if name.strip())


def _path(raw: str) -> Path:
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path
