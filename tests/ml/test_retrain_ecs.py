"""Past one Lambda: the retrain function hands runs to the ECS task when the shop has more
events than RETRAIN_ECS_ABOVE_EVENTS, and the task runs the run it is given."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from support import FIXED_NOW, LambdaClient

CLUSTER = "shopfn-test-retrain"
TASK = "arn:aws:ecs:us-east-1:123456789012:task-definition/shopfn-test-retrain:1"


def _module(name: str) -> Any:
    from shopfn.loader import load_handler, module_name
    from shopfn.manifest import load_manifest

    spec = load_manifest().get("retrain")
    load_handler(spec)
    return importlib.import_module(f"{module_name(spec)}.{name}")


@pytest.fixture
def ecs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The retrain function's ECS settings, and a stubbed ECS client that checks each call."""
    import boto3
    from botocore.stub import Stubber

    from shop.ml.config import get_ml_settings

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "shopfn-test-retrain",
        "RETRAIN_ECS_ABOVE_EVENTS": "5",
        "RETRAIN_ECS_CLUSTER": CLUSTER,
        "RETRAIN_ECS_TASK_DEFINITION": TASK,
        "RETRAIN_ECS_SUBNETS": "subnet-a,subnet-b",
        "RETRAIN_ECS_SECURITY_GROUPS": "sg-functions",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_ml_settings.cache_clear()
    client = boto3.client("ecs")
    stubber = Stubber(client)
    monkeypatch.setattr(_module("dispatch"), "_ecs_client", lambda: client)
    with stubber:
        yield stubber
    get_ml_settings.cache_clear()


def _expected(run_id: int) -> dict[str, Any]:
    return {
        "cluster": CLUSTER,
        "taskDefinition": TASK,
        "launchType": "FARGATE",
        "count": 1,
        "networkConfiguration": {
            "awsvpcConfiguration": {
                "subnets": ["subnet-a", "subnet-b"],
                "securityGroups": ["sg-functions"],
                "assignPublicIp": "DISABLED",
            }
        },
        "overrides": {
            "containerOverrides": [
                {
                    "name": "retrain",
                    "environment": [{"name": "SHOPFN_RETRAIN_RUN_ID", "value": str(run_id)}],
                }
            ]
        },
        "startedBy": f"shopfn-run-{run_id}",
    }


def _events(count: int) -> None:
    from shop.coltypes import utcnow
    from shop.db import session_scope
    from shop.models import BehaviorEvent

    with session_scope() as session:
        for i in range(count):
            session.add(
                BehaviorEvent(
                    event_type="product_view", payload={}, occurred_at=utcnow() - timedelta(i)
                )
            )


def _queued() -> int:
    from shop.db import session_scope
    from shop.ml.runs import queue_run

    with session_scope() as session:
        return queue_run(session, "manual").id


def test_a_large_shop_runs_on_ecs_with_the_run_id(client: LambdaClient, ecs: Any) -> None:
    from shop.db import session_scope
    from shop.models import TrainingRun

    dispatch = _module("dispatch")
    _events(6)
    run_id = _queued()
    ecs.add_response("run_task", {"tasks": [{"taskArn": "arn:task/1"}]}, _expected(run_id))
    dispatch.start_run(run_id)
    ecs.assert_no_pending_responses()
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None and run.status == "queued"  # the task will take it


def test_a_run_on_ecs_is_not_taken_for_abandoned_at_30_minutes(
    client: LambdaClient, ecs: Any
) -> None:
    import time_machine

    from shop.db import session_scope
    from shop.ml.runs import RunAlreadyActive, queue_run
    from shop.models import TrainingRun

    dispatch = _module("dispatch")
    _events(6)
    run_id = _queued()
    ecs.add_response("run_task", {"tasks": [{"taskArn": "arn:task/1"}]}, _expected(run_id))
    dispatch.start_run(run_id)
    later = time_machine.travel(FIXED_NOW + timedelta(hours=2), tick=False)
    with later, session_scope() as session, pytest.raises(RunAlreadyActive):
        queue_run(session, "new_data")  # a two-hour run on ECS is still running
    much_later = time_machine.travel(FIXED_NOW + timedelta(hours=13), tick=False)
    with much_later, session_scope() as session:
        assert queue_run(session, "schedule").id != run_id
        old = session.get(TrainingRun, run_id)
        assert old is not None and old.status == "failed"
        assert "abandoned" in (old.reason or "")


def test_a_small_shop_stays_on_lambda(client: LambdaClient, ecs: Any) -> None:
    from shop.db import session_scope

    dispatch = _module("dispatch")
    _events(5)
    with session_scope() as session:
        assert dispatch.runs_on_ecs(session) is False
    _events(1)
    with session_scope() as session:
        assert dispatch.runs_on_ecs(session) is True


@pytest.mark.parametrize("failure", ["error", "no capacity"])
def test_ecs_that_cannot_start_fails_the_run_with_503(
    client: LambdaClient, ecs: Any, failure: str
) -> None:
    from shop.db import session_scope
    from shop.errors import Unavailable
    from shop.models import TrainingRun

    dispatch = _module("dispatch")
    _events(6)
    run_id = _queued()
    if failure == "error":
        ecs.add_client_error("run_task", "ClusterNotFoundException", expected_params=None)
    else:
        reply = {"tasks": [], "failures": [{"reason": "RESOURCE:MEMORY"}]}
        ecs.add_response("run_task", reply, _expected(run_id))
    with pytest.raises(Unavailable):
        dispatch.start_run(run_id)
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None and run.status == "failed" and run.active_slot is None
        assert "could not be started" in (run.reason or "")


def test_the_task_runs_the_run_it_is_given(
    client: LambdaClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shop.db import session_scope
    from shop.models import TrainingRun

    task = _module("task")
    monkeypatch.setenv("SHOPFN_RETRAIN_RUN_ID", "abc")
    assert task.main() == 2
    run_id = _queued()
    monkeypatch.setenv("SHOPFN_RETRAIN_RUN_ID", str(run_id))
    assert task.main() == 0
    with session_scope() as session:
        run = session.get(TrainingRun, run_id)
        assert run is not None and run.status == "skipped"  # an empty shop: nothing to learn


def test_the_nightly_event_of_a_large_shop_starts_the_task(client: LambdaClient, ecs: Any) -> None:
    from shop.db import session_scope
    from shop.models import TrainingRun
    from shopfn.gateway import invoke
    from shopfn.manifest import load_manifest
    from shopfn.scheduler import scheduled_event

    _events(6)
    ecs.add_response("run_task", {"tasks": [{"taskArn": "arn:task/1"}]})  # params: above
    result = invoke(load_manifest().get("retrain"), scheduled_event(FIXED_NOW))
    ecs.assert_no_pending_responses()
    with session_scope() as session:
        run = session.get(TrainingRun, result["run_id"])
        assert run is not None and (run.trigger, run.status) == ("schedule", "queued")
