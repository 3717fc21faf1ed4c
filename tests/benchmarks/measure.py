"""Timing helpers and the benchmark summary table (a ratio per row, measured in one run)."""

from __future__ import annotations

import os
import statistics
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: Put on a benchmark to run it once, on PostgreSQL, instead of on every backend.
on_postgresql = pytest.mark.parametrize("database", ["postgresql"], indirect=True)


@dataclass
class Row:
    subject: str
    seconds: float
    ratio: float | None = None
    target: str = ""

    def render(self) -> str:
        ratio = f"{self.ratio:6.2f}x" if self.ratio is not None else ""
        return f"  {self.subject:<52} {self.seconds * 1000:10.2f} ms  {ratio:>7}  {self.target}"


@dataclass
class Section:
    """One benchmark's table: a baseline row (1.00x) and the rows measured against it."""

    title: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    verdict: str = ""

    def add(
        self, subject: str, seconds: float, *, ratio: float | None = None, target: str = ""
    ) -> None:
        self.rows.append(Row(subject, seconds, ratio, target))

    def render(self) -> str:
        header = f"  {'subject':<52} {'median/p50':>13}  {'ratio':>7}  target"
        lines = [self.title, header, *(row.render() for row in self.rows)]
        lines += [f"  {note}" for note in self.notes]
        if self.verdict:
            lines.append(f"  => {self.verdict}")
        return "\n".join(lines)


#: Every section opened in this pytest run, printed together at the end.
SECTIONS: list[Section] = []


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def percentile(samples: list[float], share: float) -> float:
    """The `share` quantile (0.99 for p99) of the samples, inclusive method."""
    return statistics.quantiles(samples, n=100, method="inclusive")[round(share * 100) - 1]


def timed(call: Callable[[], object]) -> float:
    """Seconds one call takes (wall clock)."""
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def fresh_interpreter_env(root: Path, *, drop: Sequence[str] = ()) -> dict[str, str]:
    """This environment for fresh-interpreter children, sharing one bytecode cache under `root`.

    PYTHONDONTWRITEBYTECODE is dropped and every child uses one PYTHONPYCACHEPREFIX, so after
    a warm-up round no side compiles modules from source, as in a Lambda package built with
    compiled bytecode. `drop` names more variables to leave out.
    """
    dropped = {"PYTHONDONTWRITEBYTECODE", "AWS_LAMBDA_FUNCTION_NAME", *drop}
    env = {name: value for name, value in os.environ.items() if name not in dropped}
    env.update(PYTHONPYCACHEPREFIX=str(root / "pycache"), POWERTOOLS_LOG_LEVEL="WARNING")
    return env


def fresh_interpreter(
    command: Sequence[str], env: dict[str, str], *, ready_line: str = ""
) -> dict[str, Any]:
    """One fresh interpreter, spawn to exit: "wall" and "cpu" (user + system) seconds, and
    "ready", the wall clock until it printed a line starting with `ready_line` (its cold start
    without its teardown; the exit if it never does), with "ready_cpu", the CPU seconds that
    line reports after it (`cold_start_probe.PRINT_READY`; "cpu" if it reports none);
    "peak_gb" (its peak RSS) and "output" (stdout and stderr). Fails with the child's output
    unless it exits 0.
    """
    start = time.perf_counter()
    ready, ready_cpu, output = None, None, []
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:  # the handler's EMF metric lines, errors, `ready_line`
            if ready is None and ready_line and line.startswith(ready_line.encode()):
                ready = time.perf_counter() - start
                reported = line.split()[1:]
                ready_cpu = float(reported[0]) if reported else None
            output.append(line)
        _, status, usage = os.wait4(child.pid, 0)  # wait4: the child's own CPU time too
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    text = b"".join(output).decode(errors="replace")
    assert child.returncode == 0, f"{' '.join(command)} failed:\n{text[-3000:]}"
    cpu = usage.ru_utime + usage.ru_stime
    return {
        "wall": wall,
        "cpu": cpu,
        "ready": ready or wall,
        "ready_cpu": cpu if ready_cpu is None else ready_cpu,
        "peak_gb": usage.ru_maxrss / 1024 / 1024,
        "output": text,
    }


#: The numeric figures of `fresh_interpreter`, which `interleaved` takes the median of.
CLOCKS = ("wall", "cpu", "ready", "ready_cpu", "peak_gb")


def interleaved(
    commands: Mapping[str, tuple[Sequence[str], dict[str, str]]], runs: int, *, ready_line: str = ""
) -> dict[str, dict[str, float]]:
    """Median of each clock of `fresh_interpreter` per command, over `runs` interleaved rounds.

    One warm-up round first fills the bytecode cache and the OS file cache; then each round
    runs every command once, so a change in the machine's load hits every command alike.
    """
    for command, env in commands.values():
        fresh_interpreter(command, env, ready_line=ready_line)
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, (command, env) in commands.items():
            samples[name].append(fresh_interpreter(command, env, ready_line=ready_line))
    return {
        name: {clock: median([s[clock] for s in taken]) for clock in CLOCKS}
        for name, taken in samples.items()
    }
