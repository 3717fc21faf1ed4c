"""Synthesized templates for the tests: dev and prod, once per session."""

from __future__ import annotations

import pytest
from infra_synth import CERTIFICATE_ARN, Synth, synth


@pytest.fixture(scope="session")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(tmp_path_factory.mktemp("dev"), stage="dev")


@pytest.fixture(scope="session")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synth(tmp_path_factory.mktemp("prod"), stage="prod", certificateArn=CERTIFICATE_ARN)
