"""cfn-lint with its serverless rules passes on every synthesized template.

Every accepted finding is suppressed on its resource with a reason; anything new fails with the
rule, the resource and the way to suppress it.
"""

from __future__ import annotations

import re

import pytest
from cfn_lint_check import describe, findings

REGION = "eu-west-1"  # where infra_synth synthesizes both stages


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_template_passes_cfn_lint_and_its_serverless_rules(stage, request) -> None:
    synth = request.getfixturevalue(stage)
    matches = findings(synth.template, REGION)
    assert not matches, describe(matches, synth.template, synth.paths)


def test_a_new_finding_fails_naming_rule_resource_and_how_to_suppress() -> None:
    """What a new resource with a finding meets (a small template: linting one costs seconds)."""
    template = {
        "Resources": {
            "HousekeepingQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Postgres": {
                "Type": "AWS::RDS::DBInstance",
                "Properties": {
                    "Engine": "postgres",
                    "EngineVersion": "16",
                    "DBInstanceClass": "db.t4g.micro",
                    "AllocatedStorage": "20",
                    "MasterUsername": "shopfn",
                    "ManageMasterUserPassword": True,
                    "StorageEncrypted": True,
                },
            },
        }
    }

    matches = findings(template, REGION)

    assert {(m.rule.id, m.path[1]) for m in matches} == {
        ("ES6000", "HousekeepingQueue"),
        ("W3691", "Postgres"),
    }
    message = describe(matches, template, {"HousekeepingQueue": "Shopfn-dev/Housekeeping/Queue"})
    assert "ES6000 (SQS No Redrive Policy) on Resources/HousekeepingQueue" in message
    assert "[construct Shopfn-dev/Housekeeping/Queue]" in message
    assert (
        "W3691 (Validate DB Instance Engine Version is not deprecated) on Resources/Postgres"
        in (message)
    )
    assert "with a reason in infra/shopfn_infra/cfn_lint_suppressions.py" in message


def test_accept_suppresses_one_rule_on_one_resource_only() -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_sqs as sqs
    from aws_cdk.assertions import Template
    from shopfn_infra import cfn_lint_suppressions as lint

    stack = Stack(App(), "Lint", env={"region": REGION})
    accepted = sqs.CfnQueue(stack, "Accepted")
    sqs.CfnQueue(stack, "Other")
    lint.accept(accepted, "a dead-letter queue itself", "ES6000")
    with pytest.raises(ValueError, match="reason"):
        lint.accept(accepted, " ", "ES6000")

    template = Template.from_stack(stack).to_json()
    flagged = {(m.rule.id, m.path[1]) for m in findings(template, REGION)}

    assert flagged == {("ES6000", "Other")}


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_every_suppression_has_a_reason_and_none_hides_a_cloudformation_error(
    stage, request
) -> None:
    template = request.getfixturevalue(stage).template
    blocks = {"template": template.get("Metadata", {}).get("cfn-lint")} | {
        key: value.get("Metadata", {}).get("cfn-lint")
        for key, value in template["Resources"].items()
    }
    suppressed = {}
    for where, block in blocks.items():
        if block is None:
            continue
        checks = block["config"]["ignore_checks"]
        assert set(checks) == set(block["reasons"]), where
        assert all(len(block["reasons"][rule]) > 40 for rule in checks), where
        suppressed[where] = checks
    # cfn-lint's own errors (E0000-E9999) mean CloudFormation rejects the template
    assert not [(w, c) for w, checks in suppressed.items() for c in checks if re.match(r"E\d", c)]
    assert suppressed["template"] == ["W3005"]


@pytest.mark.parametrize(("named", "flagged"), [("eu-west-1a", set()), ("", {"W3010"})])
def test_zones_a_stage_names_are_accepted_and_only_then(named, flagged) -> None:
    from aws_cdk import App, Stack
    from aws_cdk import aws_ec2 as ec2
    from aws_cdk.assertions import Template
    from shopfn_infra import cfn_lint_suppressions as lint
    from shopfn_infra.config import StageConfig

    app = App(context={"availabilityZones": named})
    stack = Stack(app, "Zones", env={"region": REGION})
    ec2.CfnSubnet(
        stack,
        "Subnet",
        vpc_id="vpc-0123456789abcdef0",
        cidr_block="10.0.0.0/24",
        availability_zone="eu-west-1a",
    )
    lint.template(stack, StageConfig.from_context(app.node))

    template = Template.from_stack(stack).to_json()

    assert {m.rule.id for m in findings(template, REGION)} == flagged
