#!/usr/bin/env python3
"""The CDK app: `cdk synth|deploy -c stage=dev|prod` (run `make build` first)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "local"), str(HERE.parent / "layers")]

import aws_cdk as cdk  # noqa: E402
from cdk_nag import AwsSolutionsChecks, ServerlessChecks  # noqa: E402
from shopfn_infra.config import StageConfig  # noqa: E402
from shopfn_infra.stack import ShopfnStack  # noqa: E402


def build_app(app: cdk.App | None = None) -> tuple[cdk.App, ShopfnStack]:
    """The app and its stack; cdk-nag (AwsSolutions, Serverless) validates it at synth."""
    app = app or cdk.App()
    config = StageConfig.from_context(app.node)
    env = cdk.Environment(account=config.account, region=config.region)
    stack = ShopfnStack(app, f"Shopfn-{config.stage}", config=config, env=env)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack


if __name__ == "__main__":
    build_app()[0].synth()
