"""Benchmark fixtures: the summary table and a PostgreSQL-only database.

Benchmarks compare two things measured in the same run (a ratio), never an absolute time,
so a result means the same on a laptop, in CI or on a loaded machine. Each benchmark fills
a section with `bench_report`; all sections are printed together at the end of the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from measure import SECTIONS, Section


@pytest.fixture
def bench_report() -> Callable[[str], Section]:
    """Open a titled section of the summary table."""

    def open_section(title: str) -> Section:
        section = Section(title)
        SECTIONS.append(section)
        return section

    return open_section


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SECTIONS:
        return
    terminalreporter.section("shopfn benchmarks (ratios measured in this run)")
    for section in SECTIONS:
        terminalreporter.write_line(section.render())
        terminalreporter.write_line("")


@pytest.fixture
def postgres_db(db: str) -> Iterator[str]:
    """An empty, migrated PostgreSQL database (the shared `db` fixture, with `on_postgresql`)."""
    assert db == "postgresql", "mark the benchmark with @on_postgresql"
    yield db
