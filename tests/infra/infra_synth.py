"""Synthesize the CDK app in-process (no Docker, no AWS credentials)."""

from __future__ import annotations

import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_MANIFEST = Path(__file__).with_name("fixture_manifest.toml")
sys.path.insert(0, str(ROOT / "infra"))  # for the `shopfn_infra` package


def _infra_app() -> object:
    """infra/app.py, loaded by path: a bare `import app` could find dashboard/app.py first."""
    import importlib.util

    if "shopfn_infra_app" not in sys.modules:
        spec = importlib.util.spec_from_file_location("shopfn_infra_app", ROOT / "infra" / "app.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["shopfn_infra_app"] = module
        spec.loader.exec_module(module)
    return sys.modules["shopfn_infra_app"]


@dataclass(frozen=True)
class Synth:
    template: dict
    assertions: object  # aws_cdk.assertions.Template
    report: dict  # the validation report (cdk-nag's findings)
    paths: dict[str, str] = field(default_factory=dict)  # logical id -> construct path


def fake_build(target: Path, manifest: Path) -> Path:
    """Tiny stand-ins for what `shopfn build` writes, so synth needs no wheel download."""
    from shopfn.manifest import load_manifest

    (target / "functions").mkdir(parents=True, exist_ok=True)
    names = ["layer-shop.zip"] + [
        f"functions/{spec.name}.zip" for spec in load_manifest(manifest).functions
    ]
    for name in names:
        with zipfile.ZipFile(target / name, "w") as archive:
            archive.writestr("marker.txt", name)
    return target


#: A made-up ACM certificate: the prod stage refuses to synthesize without one.
CERTIFICATE_ARN = (
    "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
)


def synth(
    tmp: Path, *, stage: str, manifest: Path = FIXTURE_MANIFEST, **extra_context: str
) -> Synth:
    import aws_cdk as cdk
    from aws_cdk.assertions import Template

    build_app = _infra_app().build_app  # type: ignore[attr-defined]

    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    context.update(
        stage=stage,
        manifest=str(manifest),
        buildDir=str(fake_build(tmp / "build", manifest)),
        region="eu-west-1",
        account="123456789012",
        **extra_context,
    )
    app = cdk.App(outdir=str(tmp / "cdk.out"), context=context)
    app, stack = build_app(app)
    assembly = app.synth()  # raises when cdk-nag reports an unacknowledged error
    template = Template.from_stack(stack)
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    paths = {
        stack.resolve(element.logical_id): element.node.path
        for element in stack.node.find_all()
        if isinstance(element, cdk.CfnElement)
    }
    return Synth(template.to_json(), template, report, paths)
