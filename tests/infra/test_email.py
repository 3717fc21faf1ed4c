"""Campaign e-mails: only the campaign runners may send, only as the shop's SES identity."""

from __future__ import annotations

import json

import pytest
from infra_synth import Synth, synth
from test_stack import MANIFEST, function, policy_text, resources

SENDERS = ("campaigns", "retrain")


@pytest.fixture(scope="module")
def with_ses(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(tmp_path_factory.mktemp("ses"), stage="dev", sesFromAddress="offers@shop.example")


def test_only_the_campaign_runners_send_and_only_from_the_shops_identity(with_ses: Synth) -> None:
    for name in MANIFEST:
        key, value = function(with_ses, name)
        policies = policy_text(with_ses, key)
        sends = name in SENDERS
        assert ("ses:SendEmail" in policies) == sends, name
        env = value["Properties"]["Environment"]["Variables"]
        assert (env.get("SES_FROM_ADDRESS") == "offers@shop.example") == sends, name
    statements = [
        statement
        for policy in resources(with_ses, "AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if "ses:SendEmail" in json.dumps(statement["Action"])
    ]
    assert len(statements) == 3  # campaigns, retrain, and the retrain ECS task
    for statement in statements:
        assert statement["Action"] == "ses:SendEmail"
        assert ":identity/shop.example" in json.dumps(statement["Resource"])
        assert "*" not in json.dumps(statement["Resource"])
        assert statement["Condition"] == {
            "StringEquals": {"ses:FromAddress": "offers@shop.example"}
        }


def test_without_a_sender_nothing_may_send(dev: Synth) -> None:
    assert "ses:" not in json.dumps(resources(dev, "AWS::IAM::Policy"))
    for name in MANIFEST:
        _key, value = function(dev, name)
        assert "SES_FROM_ADDRESS" not in value["Properties"]["Environment"]["Variables"]
