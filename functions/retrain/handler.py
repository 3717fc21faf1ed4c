"""Lambda entry point of the retrain function: HTTP via Mangum, plus three non-HTTP events.

- the nightly EventBridge rule's `Scheduled Event` runs training right here, then the
  retention campaigns on the new champions, or hands both to the ECS task when the shop has
  more events than `RETRAIN_ECS_ABOVE_EVENTS`;
- `{"shopfn_retrain_check": true}`, from the 15-minute rule, runs the new-data and drift
  check, which may queue a run;
- `{"shopfn_retrain_run_id": N}`, sent by POST /ml/retrain (or the check) to this function
  asynchronously, runs the queued run N.
"""

from __future__ import annotations

from typing import Any

from shop.coldstart import building_function

with building_function():
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.http.app import create_app
    from shop.http.handler import is_scheduled_event, make_handler
    from shop.logging import get_logger

    from .dispatch import CHECK_EVENT_KEY, RUN_EVENT_KEY, check_now, scheduled_on_ecs
    from .routes import router

    app = create_app(
        "retrain",
        "/ml/retrain",
        [router],
        description="Training runs of the churn and spend models.",
    )
    http_handler = make_handler(app, "retrain")


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Route schedule and self-invocation events before Mangum sees them."""
    if is_scheduled_event(event):
        from shop.ml.retraining import run_scheduled  # training only where it runs
        from shop.ml.runs import run_outcome

        on_ecs = scheduled_on_ecs()
        run_id = on_ecs or run_scheduled()
        get_logger().info("scheduled training run handled", extra={"run_id": run_id})
        with session_scope() as session:
            outcome = run_outcome(session, run_id)
        if on_ecs:
            return outcome
        from shop.ml.campaign_scores import run_campaigns_after_training

        summaries = run_campaigns_after_training()
        offered = sum(summary.offered for summary in summaries)
        return {**outcome, "campaigns": len(summaries), "offered": offered}
    if event.get(CHECK_EVENT_KEY) is True:
        with session_scope() as session:
            found = check_now(session, utcnow())
        return {
            "trigger": found["trigger"],
            "run_id": found["run_id"],
            "first_models": bool(found.get("first_models")),
        }
    queued = event.get(RUN_EVENT_KEY)
    if isinstance(queued, int) and not isinstance(queued, bool):
        from shop.ml.retraining import execute_run

        execute_run(queued)
        return {"run_id": queued}
    return http_handler(event, context)
