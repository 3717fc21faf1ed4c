"""Cold start: a fresh interpreter importing a function and answering health vs `import fastapi`.

Each sample is a whole fresh interpreter, start to exit: `cold_start_probe.py <function>`
(import the handler through the local loader, answer one health event) or
`python -c "import fastapi"`. Both use one bytecode cache (as a Lambda package built with
compiled bytecode would). Rounds are interleaved so machine load hits both alike; the result
is the ratio of medians, on wall-clock time (the target) and on the CPU time the process
used (which a busy machine disturbs far less). Every function in the manifest is measured,
so a function added later is held to the same target.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from measure import Section, fresh_interpreter, fresh_interpreter_env, median

from shopfn.manifest import load_manifest

#: Issue #23: import plus the first health event within 1.5x `import fastapi`.
TARGET = 1.5
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "11"))
PROBE = Path(__file__).with_name("cold_start_probe.py")
BASELINE = "import fastapi"


@pytest.fixture(scope="module")
def child_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A local, untraced environment on SQLite in a temporary DATA_DIR, with a bytecode cache."""
    root = tmp_path_factory.mktemp("cold")
    env = fresh_interpreter_env(root, drop=("DATABASE_URL",))
    env["DATA_DIR"] = str(root / "data")
    return env


def _command(subject: str) -> list[str]:
    if subject == BASELINE:
        return [sys.executable, "-c", "import fastapi"]
    return [sys.executable, str(PROBE), subject]


def _sample(subject: str, env: dict[str, str]) -> dict[str, float]:
    """One fresh interpreter, start to exit: {"wall": seconds, "cpu": user + system seconds}."""
    return fresh_interpreter(_command(subject), env)


def _import_times(command: list[str], env: dict[str, str]) -> dict[str, int]:
    """Self time in microseconds of every module a command imports (`python -X importtime`)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    times: dict[str, int] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "cumulative" not in line:
            self_us, _, name = line.removeprefix("import time:").split("|")
            times[name.strip()] = int(self_us)
    return times


def _extra_imports(function: str, env: dict[str, str], top: int = 12) -> str:
    """What a function's cold start imports beyond `import fastapi`, by package, costliest first."""
    baseline = _import_times(_command(BASELINE), env)
    by_package: dict[str, int] = {}
    for name, self_us in _import_times(_command(function), env).items():
        if name not in baseline:
            package = name.split(".")[0]
            by_package[package] = by_package.get(package, 0) + self_us
    rows = sorted(by_package.items(), key=lambda row: row[1], reverse=True)[:top]
    return "\n".join(f"    {us / 1000:8.1f} ms  {package}" for package, us in rows)


def test_every_function_cold_starts_within_target_of_import_fastapi(
    child_env: dict[str, str], bench_report: Callable[[str], Section]
) -> None:
    functions = [spec.name for spec in load_manifest().functions]
    if os.environ.get("BENCH_COLD_FUNCTIONS"):  # e.g. "users,products" while iterating
        functions = [
            name for name in functions if name in os.environ["BENCH_COLD_FUNCTIONS"].split(",")
        ]
    subjects = [BASELINE, *functions]
    for subject in subjects:  # warm-up: fills the bytecode cache and the OS file cache
        _sample(subject, child_env)
    samples: dict[str, list[dict[str, float]]] = {subject: [] for subject in subjects}
    for _ in range(RUNS):
        for subject in subjects:
            samples[subject].append(_sample(subject, child_env))

    def typical(subject: str, clock: str) -> float:
        return median([sample[clock] for sample in samples[subject]])

    ratios: dict[str, dict[str, float]] = {
        clock: {name: typical(name, clock) / typical(BASELINE, clock) for name in functions}
        for clock in ("wall", "cpu")
    }
    slow = [name for name, ratio in ratios["wall"].items() if ratio > TARGET]
    for clock, label in (("wall", "wall-clock"), ("cpu", "CPU time")):
        section = bench_report(
            f"Cold start, {label}: fresh interpreter, import handler + one health event "
            f"(median of {RUNS}, interleaved)"
        )
        section.add("import fastapi", typical(BASELINE, clock), ratio=1.0)
        for name in functions:
            section.add(
                f"{name}: import handler + health event",
                typical(name, clock),
                ratio=ratios[clock][name],
                target=f"<= {TARGET:.1f}x" if clock == "wall" else "",
            )
        if clock == "wall":
            section.verdict = "all within target" if not slow else f"over: {', '.join(slow)}"
        print("\n" + section.render())
    if slow or os.environ.get("BENCH_VERBOSE"):
        for name in slow or functions:
            print(
                f"\n  imports beyond `import fastapi` in {name}:\n{_extra_imports(name, child_env)}"
            )
    assert not slow, f"cold start over {TARGET}x `import fastapi` (wall clock): {ratios}"
