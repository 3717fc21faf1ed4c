"""cfn-lint as the repository's .cfnlintrc configures it (serverless rules appended), in-process."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from infra_synth import ROOT

CONFIG = ROOT / ".cfnlintrc"
SUPPRESSIONS = "infra/shopfn_infra/cfn_lint_suppressions.py"


@cache
def _runner(region: str) -> Any:
    """Rules load once per region (a few seconds): every template of the session reuses them."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(["--config-file", str(CONFIG)], regions=[region], templates=[]))


def findings(template: dict, region: str) -> list[Any]:
    """Every unsuppressed cfn-lint match; the template is copied (cfn-lint transforms SAM)."""
    return list(_runner(region).validate_template(copy.deepcopy(template)))


def describe(matches: list[Any], template: dict, paths: dict[str, str] | None = None) -> str:
    """One paragraph per finding: the rule, the resource and its construct, the way out."""
    lines = []
    for match in matches:
        path = [str(part) for part in getattr(match, "path", None) or []]
        resource = path[1] if len(path) > 1 and path[0] == "Resources" else None
        where = "/".join(path) or f"line {match.linenumber}"
        construct = None
        if resource:
            metadata = template["Resources"].get(resource, {}).get("Metadata", {})
            construct = (paths or {}).get(resource) or metadata.get("aws:cdk:path")
        lines.append(
            f"{match.rule.id} ({match.rule.shortdesc}) on {where}"
            + (f" [construct {construct}]" if construct else "")
            + f": {match.message}\n  {match.rule.source_url}"
        )
    return (
        f"cfn-lint found {len(matches)} new finding(s):\n"
        + "\n".join(lines)
        + "\nFix the resource; if AWS accepts it and the finding is wrong for it, suppress it on "
        f"that resource with a reason in {SUPPRESSIONS}: "
        "accept(<construct>, '<why this is fine>', '<rule id>'), called from ShopfnStack."
    )
