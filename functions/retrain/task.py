"""The retrain image as an ECS task: `python -m retrain.task` runs the queued run named by
SHOPFN_RETRAIN_RUN_ID, for shops whose data outgrows one Lambda's 10 GB and 15 minutes."""

from __future__ import annotations

import os
import sys

from shop.logging import get_logger
from shop.ml.retraining import execute_run


def main() -> int:
    raw = os.environ.get("SHOPFN_RETRAIN_RUN_ID", "")
    if not raw.isdigit() or int(raw) < 1:
        get_logger().error("SHOPFN_RETRAIN_RUN_ID must name a queued run", extra={"value": raw})
        return 2
    execute_run(int(raw))  # records succeeded, failed or skipped in the run itself
    if _trigger(int(raw)) == "schedule":  # the nightly run: the campaigns follow it here
        from shop.ml.campaign_scores import run_campaigns_after_training

        run_campaigns_after_training()
    return 0


def _trigger(run_id: int) -> str | None:
    from contextlib import closing

    from shop.db import new_session
    from shop.models import TrainingRun

    with closing(new_session()) as session:
        run = session.get(TrainingRun, run_id)
        return run.trigger if run else None


if __name__ == "__main__":
    sys.exit(main())
