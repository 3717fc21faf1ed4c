"""Timing helpers and the benchmark summary table (a ratio per row, measured in one run)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

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
