"""`cdk synth` itself (the npm CLI, as `make synth` runs it) synthesizes the real manifest."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

from cfn_lint_check import describe, findings
from infra_synth import ROOT, fake_build

from shopfn.manifest import load_manifest

MAKEFILE = (ROOT / "Makefile").read_text()
CDK = ROOT / re.search(r"^CDK := (.+)$", MAKEFILE, re.M).group(1).strip()


def _ensure_cli() -> None:
    """Install the pinned CLI the way `make` does (npm registry) when it is missing."""
    if not CDK.exists():
        subprocess.run(["make", "-C", str(ROOT), str(CDK.relative_to(ROOT))], check=True)


def _offline_env(tmp: Path) -> dict[str, str]:
    """No credentials, no instance metadata, no telemetry: synth must need none of them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(tmp / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(tmp / "no-aws-credentials"),
        CDK_DISABLE_CLI_TELEMETRY="true",
        JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION="1",
        HOME=str(tmp),
    )
    return env


def test_cdk_synth_builds_one_function_per_manifest_entry_and_passes_cdk_nag_and_cfn_lint(
    tmp_path,
) -> None:
    _ensure_cli()
    manifest = ROOT / "functions" / "manifest.toml"
    build = fake_build(tmp_path / "build", manifest)
    out = tmp_path / "cdk.out"
    result = subprocess.run(
        [
            str(CDK),
            "synth",
            "--no-notices",
            "--no-version-reporting",
            "--quiet",
            "-o",
            str(out),
            "-c",
            f"buildDir={build}",
            "-c",
            "region=eu-west-1",
        ],
        cwd=ROOT,
        env=_offline_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((out / "Shopfn-dev.template.json").read_text())
    names = {
        value["Properties"].get("FunctionName")
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::Function"
    }
    expected = {f"shopfn-dev-{spec.name}" for spec in load_manifest(manifest).functions}
    assert expected <= names
    assert names - expected - {None} == {"shopfn-dev-deploy-hooks", "shopfn-dev-vpc-default-sg"}
    report = json.loads((out / "validation-report.json").read_text())
    for plugin in report["pluginReports"]:
        assert not [v for v in plugin["violations"] if v["severity"] == "error"]
    matches = findings(template, "eu-west-1")
    assert not matches, describe(matches, template)
