"""Cold start: a fresh interpreter importing a function and answering health vs `import fastapi`.

Both sides run as fresh interpreters with the same bytecode cache (as a Lambda package built
with compiled bytecode would), interleaved round by round so machine load hits both alike;
the ratio of medians is the result. Every function in the manifest is measured, so a
function added later is held to the same target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from measure import Section, median, timed

from shopfn.manifest import load_manifest

TARGET = 2.0
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "9"))
PROBE = Path(__file__).with_name("cold_start_probe.py")
BASELINE = "import fastapi"


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A local, untraced environment on SQLite in a temporary DATA_DIR, with a bytecode cache."""
    root = tmp_path_factory.mktemp("cold")
    env = {
        name: value
        for name, value in os.environ.items()
        if name
        not in ("DATABASE_URL", "PYTHONDONTWRITEBYTECODE", "AWS_LAMBDA_FUNCTION_NAME", "PYTHONPATH")
    }
    env.update(
        DATA_DIR=str(root / "data"),
        PYTHONPYCACHEPREFIX=str(root / "pycache"),
        POWERTOOLS_LOG_LEVEL="WARNING",
    )
    return env


def _command(subject: str) -> list[str]:
    if subject == BASELINE:
        return [sys.executable, "-c", BASELINE]
    return [sys.executable, str(PROBE), subject]


def _run(command: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{command} failed:\n{done.stderr[-3000:]}"


def _slowest_imports(function: str, env: dict[str, str], top: int = 15) -> str:
    """`python -X importtime` for one cold start: the top-level imports that cost most."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", str(PROBE), function],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    rows: list[tuple[int, str]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if not name.startswith("  "):  # top level: imported directly, not by another import
            rows.append((int(cumulative), name.strip()))
    rows.sort(reverse=True)
    return "\n".join(f"    {us / 1000:8.1f} ms  {name}" for us, name in rows[:top])


def test_every_function_cold_starts_within_twice_import_fastapi(
    child_env: dict[str, str], bench_report: Callable[[str], Section]
) -> None:
    functions = [spec.name for spec in load_manifest().functions]
    subjects = [BASELINE, *functions]
    for subject in subjects:  # warm-up: fills the bytecode cache and the OS file cache
        _run(_command(subject), child_env)
    samples: dict[str, list[float]] = {subject: [] for subject in subjects}
    for _ in range(RUNS):
        for subject in subjects:
            command = _command(subject)
            samples[subject].append(timed(lambda command=command: _run(command, child_env)))

    base = median(samples[BASELINE])
    section = bench_report(
        f"Cold start: fresh interpreter, import handler + one health event "
        f"(median of {RUNS}, interleaved)"
    )
    section.add(BASELINE, base, ratio=1.0)
    ratios = {name: median(samples[name]) / base for name in functions}
    for name in functions:
        section.add(
            f"{name}: import handler + health event",
            median(samples[name]),
            ratio=ratios[name],
            target=f"<= {TARGET:.1f}x",
        )
    slow = [name for name, ratio in ratios.items() if ratio > TARGET]
    section.verdict = "all within target" if not slow else f"over target: {', '.join(slow)}"
    print("\n" + section.render())
    if slow or os.environ.get("BENCH_VERBOSE"):
        for name in slow or functions:
            print(f"\n  slowest top-level imports of {name}:\n{_slowest_imports(name, child_env)}")
    assert not slow, f"cold start over {TARGET}x `import fastapi`: {ratios}"
