"""Progress bars of the long commands: on a terminal they show counts and an ETA on stderr;
off a terminal, or with `shopfn --quiet`, nothing but the result is printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from terminal import run_on_terminal

from shop.progress import advance, in_steps, watched_by

#: A month of history ending at a fixed instant, whatever the day the tests run.
SIMULATE = ["simulate", "--users", "60", "--days", "30", "--seed", "1", "--end", "2026-06-30"]
#: tqdm's bar: a description, a percentage and `count/total [elapsed<remaining`.
_BAR = r"{desc}: +\d+%\|.*\| *\d+(\.\d+)?k?/\d+(\.\d+)?k? \[\d\d:\d\d<"


def _shopfn(*args: str) -> list[str]:
    return [sys.executable, "-m", "shopfn.cli", *args]


@dataclass(frozen=True)
class Shop:
    env: dict[str, str]
    piped: subprocess.CompletedProcess[str]  # the first simulate, its output on pipes


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    """A SQLite shop of its own with a month of history, simulated off a terminal."""
    data_dir = tmp_path_factory.mktemp("progress")
    env = {**os.environ, "DATA_DIR": str(data_dir), "BCRYPT_ROUNDS": "4"}
    env.pop("DATABASE_URL", None)
    piped = subprocess.run(_shopfn(*SIMULATE), env=env, capture_output=True, text=True, check=False)
    return Shop(env, piped)


def test_simulate_off_a_terminal_prints_only_its_result(shop: Shop) -> None:
    assert shop.piped.returncode == 0, shop.piped.stderr
    assert "simulating" not in shop.piped.stderr and "%|" not in shop.piped.stderr
    assert shop.piped.stdout.startswith("simulated 60 customers")


def test_simulate_shows_its_bars_on_a_terminal(shop: Shop) -> None:
    run = run_on_terminal(_shopfn(*SIMULATE), shop.env)
    assert run.returncode == 0, run.terminal
    assert re.search(_BAR.format(desc="simulating shoppers"), run.terminal), run.terminal
    assert re.search(_BAR.format(desc="saving the history"), run.terminal), run.terminal
    assert "simulated 60 customers" in run.stdout


def test_quiet_silences_the_bars_even_on_a_terminal(shop: Shop) -> None:
    run = run_on_terminal(_shopfn("--quiet", *SIMULATE), shop.env)
    assert run.returncode == 0, run.terminal
    assert "%|" not in run.terminal and "simulating" not in run.terminal


def test_retrain_and_backtest_show_their_steps_on_a_terminal(shop: Shop) -> None:
    """A month of history is too little to train on: the bars still show the steps that ran."""
    retrain = run_on_terminal(_shopfn("retrain"), shop.env)
    assert retrain.returncode == 0, retrain.terminal
    assert re.search(_BAR.format(desc="training models"), retrain.terminal), retrain.terminal
    assert '"status": "skipped"' in retrain.stdout
    # Inside the simulated month (a cutoff outside the history is refused).
    backtest = run_on_terminal(
        _shopfn("ml", "backtest", "--cutoff", "2026-06-15", "--horizon-days", "30"), shop.env
    )
    assert re.search(_BAR.format(desc="backtest"), backtest.terminal), backtest.terminal
    assert "not enough history" in backtest.stdout


class _Recorder:
    """A bar factory that remembers each bar's total, description and updates."""

    def __init__(self) -> None:
        self.bars: list[tuple[int, str, str, list[float]]] = []

    @contextmanager
    def __call__(self, total: int, desc: str, unit: str) -> Iterator[_Recorder]:
        self.bars.append((total, desc, unit, []))
        yield self

    def update(self, n: float | None = 1) -> None:
        self.bars[-1][3].append(n or 0)


def test_layer_steps_are_counted_only_while_someone_watches() -> None:
    @in_steps("three steps", total=3)
    def work() -> str:
        for _ in range(3):
            advance()
        return "done"

    assert work() == "done"  # nobody watches: nothing to count, nothing fails
    recorder = _Recorder()
    with watched_by(recorder):
        assert work() == "done"
    assert recorder.bars == [(3, "three steps", "step", [1, 1, 1])]
    assert work() == "done" and len(recorder.bars) == 1  # the watch ended with the block


def test_build_counts_the_layer_and_each_function(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from shopfn import build as building

    recorder = _Recorder()
    monkeypatch.setattr(building, "progress_bar", recorder)
    monkeypatch.setattr(building, "build_layer", lambda _options, _staging: _bundle("layer"))
    monkeypatch.setattr(building, "distributions", lambda _site: [])
    monkeypatch.setattr(building, "build_function", lambda spec, *_rest: _bundle(spec.name))
    options = building.BuildOptions(out=tmp_path, functions=("users", "cart"))
    bundles = building.build(options)
    assert [bundle.name for bundle in bundles] == ["layer", "users", "cart"]
    assert recorder.bars == [(3, "building bundles", "bundle", [1, 1, 1])]


def _bundle(name: str) -> object:
    from shopfn.build import Bundle

    return Bundle(kind="test", name=name, path=None, unzipped_bytes=0)
