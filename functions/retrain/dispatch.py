"""Start a queued run without holding the request: a thread locally; in AWS a
self-invocation, or an ECS task when the shop's data outgrows one Lambda.

The run bookkeeping and the event model (with SQLAlchemy's ORM) are imported where they are
used: the handler imports this module at every cold start, health checks included."""

from __future__ import annotations

import json
import os
import threading
from contextlib import closing
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from shop.db import new_session
from shop.errors import Unavailable
from shop.logging import failure_reason, get_logger, log_failure
from shop.ml.artifacts import ArtifactStore
from shop.ml.config import get_ml_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The payload this function sends itself to run a queued training run.
RUN_EVENT_KEY = "shopfn_retrain_run_id"
#: The payload of the 15-minute rule (and the local scheduler): run the check.
CHECK_EVENT_KEY = "shopfn_retrain_check"
#: Where the ECS task is; set by CDK on the function, absent locally.
ECS_ENV = ("RETRAIN_ECS_CLUSTER", "RETRAIN_ECS_TASK_DEFINITION", "RETRAIN_ECS_SUBNETS")


def _client(service: str) -> Any:
    import boto3

    return boto3.client(service, endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def _lambda_client() -> Any:
    return _client("lambda")


def _ecs_client() -> Any:
    return _client("ecs")


def runs_on_ecs(session: Session) -> bool:
    """True when ECS is configured and the shop has more events than one Lambda trains on."""
    above = get_ml_settings().retrain_ecs_above_events
    if above <= 0 or not all(os.environ.get(name) for name in ECS_ENV):
        return False
    from shop.models import BehaviorEvent

    events = session.scalar(select(func.count(BehaviorEvent.id))) or 0
    return int(events) > above


def _run_task(run_id: int) -> None:
    env = os.environ
    started = _ecs_client().run_task(
        cluster=env["RETRAIN_ECS_CLUSTER"],
        taskDefinition=env["RETRAIN_ECS_TASK_DEFINITION"],
        launchType="FARGATE",
        count=1,
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": env["RETRAIN_ECS_SUBNETS"].split(","),
                "securityGroups": [
                    g for g in env.get("RETRAIN_ECS_SECURITY_GROUPS", "").split(",") if g
                ],
                "assignPublicIp": "DISABLED",
            }
        },
        overrides={
            "containerOverrides": [
                {
                    "name": env.get("RETRAIN_ECS_CONTAINER", "retrain"),
                    "environment": [{"name": "SHOPFN_RETRAIN_RUN_ID", "value": str(run_id)}],
                }
            ]
        },
        startedBy=f"shopfn-run-{run_id}",
    )
    if started.get("failures") or not started.get("tasks"):  # e.g. no Fargate capacity
        raise RuntimeError(f"ECS did not start the task: {started.get('failures')}")


def _invoke_self(function_name: str, run_id: int) -> None:
    _lambda_client().invoke(
        FunctionName=function_name,
        InvocationType="Event",
        Payload=json.dumps({RUN_EVENT_KEY: run_id}).encode(),
    )


def start_run(run_id: int, *, on_ecs: bool | None = None) -> None:
    """Have run `run_id` executed in the background (on ECS when the data is that large)."""
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function_name is None:
        from shop.ml.retraining import execute_run  # training: numpy and the ML modules

        threading.Thread(
            target=execute_run, args=(run_id,), name=f"retrain-{run_id}", daemon=True
        ).start()
        return
    from shop.ml.runs import mark_finished, mark_on_ecs

    session = new_session()
    try:
        if on_ecs is None:
            on_ecs = runs_on_ecs(session)
        if on_ecs:
            mark_on_ecs(session, run_id)
            _run_task(run_id)
        else:
            _invoke_self(function_name, run_id)
    except Exception as exc:  # any AWS failure: close the run rather than leave it queued
        session.rollback()
        log_failure(get_logger(), "could not start the training run", exc, run_id=run_id)
        mark_finished(
            session, run_id, "failed", reason=f"could not be started: {failure_reason(exc)}"
        )
        raise Unavailable("The training run could not be started; try again later.") from exc
    finally:
        session.close()


def check_now(
    session: Session,
    now: datetime,
    *,
    new_data_share: float | None = None,
    drift_psi: float | None = None,
) -> dict[str, Any]:
    """The new-data and drift check, starting the run it queues; thresholds as overridden."""
    from shop.ml.triggers import Thresholds, run_check  # numpy and the feature query

    thresholds = Thresholds.from_settings(new_data_share=new_data_share, drift_psi=drift_psi)
    store = ArtifactStore.from_settings()
    found = run_check(session, now, thresholds, store, start_run)
    found["new_data_share_threshold"] = thresholds.new_data_share
    found["drift_psi_threshold"] = thresholds.drift_psi
    get_logger().info("retrain check", extra={"check": json.dumps(found, default=str)})
    return found


def scheduled_on_ecs() -> int | None:
    """The nightly run handed to ECS when the data is that large (its id), else None."""
    from shop.ml.runs import RunAlreadyActive, queue_run, record_skipped

    with closing(new_session()) as session:
        if not runs_on_ecs(session):
            return None
        try:
            run_id = queue_run(session, "schedule").id
        except RunAlreadyActive as exc:
            active = exc.extra.get("active_run_id")
            reason = f"run {active} was still active when the schedule fired"
            return record_skipped(session, "schedule", reason).id
    start_run(run_id, on_ecs=True)
    return run_id
