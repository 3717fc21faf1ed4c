"""The console lines of `shopfn serve`'s scheduled jobs for the outcomes the end-to-end tests
(tests/api/test_payment_expiry_runs.py, tests/housekeeping/test_entry_points.py,
tests/ml/test_retrain_triggers.py) cannot easily produce: one order, a payment racing the
expiry, Stripe out of reach, a failed or skipped run, a purge out of time."""

from __future__ import annotations

import logging

import pytest

from shop.ml.runs import ON_ECS
from shopfn.job_report import (
    describe_check,
    describe_expiry,
    describe_housekeeping,
    describe_retrain,
    describe_run,
)


def test_expiry_lines_count_in_words_and_warn_when_the_payment_service_was_out_of_reach() -> None:
    quiet = {"expired": 0, "paying": 0, "retry": 0, "complete": True}
    assert describe_expiry(quiet, hold_minutes=30) is None
    assert describe_expiry({**quiet, "expired": 1}, hold_minutes=1) == (
        logging.INFO,
        "1 unpaid order expired after 1 minute without payment; its stock is back on sale.",
    )
    assert describe_expiry({**quiet, "paying": 1, "retry": 3}, hold_minutes=30) == (
        logging.WARNING,
        "1 order was being paid at that moment and is left to the payment. Could not reach "
        "the payment service for 3 unpaid orders; the next run tries again.",
    )


def test_housekeeping_out_of_time_says_the_rest_follows() -> None:
    assert describe_housekeeping({"purged": {"login_failures": 0}, "complete": True}) is None
    assert describe_housekeeping({"purged": {"behavior_events": 5000}, "complete": False}) == (
        logging.INFO,
        "Housekeeping removed 5,000 old rows (behavior events past their retention: 5,000); "
        "the next run removes the rest.",
    )


@pytest.mark.parametrize(
    ("outcome", "line"),
    [
        (
            {"status": "succeeded", "promoted": False, "reason": "churn: auc 0.70 vs 0.71"},
            (
                logging.INFO,
                "Nightly retrain finished: the models in use did as well, so they stay.",
            ),
        ),
        (
            {"status": "skipped", "promoted": False, "reason": "run 4 was still active"},
            (logging.INFO, "Nightly retrain skipped: run 4 was still active."),
        ),
        (
            {"status": "failed", "promoted": False, "reason": "MemoryError: "},
            (logging.WARNING, "Nightly retrain failed: MemoryError. The models in use stay."),
        ),
        (
            {"run_id": 9, "status": "queued", "promoted": False, "reason": ON_ECS},
            (logging.INFO, "Nightly retrain started on the ECS task (run 9)."),
        ),
    ],
)
def test_a_nightly_run_that_changed_nothing_says_why(
    outcome: dict[str, object], line: tuple[int, str]
) -> None:
    assert describe_retrain({**outcome, "campaigns": 1, "offered": 0}) == line


def test_the_check_speaks_only_when_it_started_a_run() -> None:
    assert describe_check({"trigger": None, "run_id": None}) is None
    assert describe_check({"trigger": "drift", "run_id": None}) is None  # one is already queued
    first = {"trigger": "new_data", "run_id": 3, "first_models": True}
    assert describe_check(first) == (
        logging.INFO,
        "The shop now has enough order history for its first models: training them now (run 3).",
    )
    assert describe_check({"trigger": "drift", "run_id": 7}) == (
        logging.INFO,
        "Customers behave differently from when the models were trained: training new models "
        "now (run 7).",
    )
    failed = {"status": "failed", "reason": "ValueError: no rows"}
    assert describe_run(failed, "drift") == (
        logging.WARNING,
        "Retrain for the changed customers failed: ValueError: no rows. The models in use stay.",
    )
