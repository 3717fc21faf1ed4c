"""Start a queued run without holding the request: self-invocation in AWS, a thread locally."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

from shop.db import new_session
from shop.errors import Unavailable
from shop.logging import get_logger
from shop.ml.retraining import execute_run
from shop.ml.runs import mark_finished

#: The payload this function sends itself to run a queued training run.
RUN_EVENT_KEY = "shopfn_retrain_run_id"


def _lambda_client() -> Any:
    import boto3

    return boto3.client("lambda", endpoint_url=os.environ.get("AWS_ENDPOINT_URL"))


def start_run(run_id: int) -> None:
    """Have run `run_id` executed in the background."""
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
    if function_name is None:
        threading.Thread(
            target=execute_run, args=(run_id,), name=f"retrain-{run_id}", daemon=True
        ).start()
        return
    try:
        _lambda_client().invoke(
            FunctionName=function_name,
            InvocationType="Event",
            Payload=json.dumps({RUN_EVENT_KEY: run_id}).encode(),
        )
    except Exception as exc:  # any AWS failure: close the run rather than leave it queued
        get_logger().exception("could not start the training run", extra={"run_id": run_id})
        session = new_session()
        try:
            mark_finished(session, run_id, "failed", reason=f"could not be started: {exc}")
        finally:
            session.close()
        raise Unavailable("The training run could not be started; try again later.") from exc
