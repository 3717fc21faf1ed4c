"""Cold starts, both in one run: every function vs `import fastapi`, predict's first prediction
vs scikit-learn's import (issue #23).

Each sample is a whole fresh interpreter. API functions: `cold_start_probe.py` (import the
handler the manifest names, as Lambda's runtime does, and answer one health event given as
JSON, on SQLite) against `python -c "import fastapi"`, start to exit; target 1.5x. Predict:
the probe on `GET /ml/predictions/users/<id>` (import the handler, load the champions,
answer one prediction, on PostgreSQL) against `from sklearn.ensemble import
HistGradientBoostingClassifier`, each until it prints READY (scikit-learn's interpreter
teardown alone is about a quarter of a second, and is no cold start); target 0.6x. All use
one bytecode cache (as a Lambda package built with compiled bytecode would), and rounds
interleave every command, so machine load hits all alike. The ratios of medians are asserted
on CPU time (user + system), which a busy machine disturbs far less than the wall clock,
shown too. Every function in the manifest is measured, so a function added later is held to
the same target.

A health check loads neither SQLAlchemy's ORM nor a model: the routes import them. So the
same rounds also time, for information, a cold start answering a first real request on the
PostgreSQL shop (the users function's `GET /users/me`, the orders function's `GET /orders`
with the simulated customer's token, and `GET /products/<id>`): what a shopper's first click
into a fresh container costs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cold_start_probe import PRINT_READY, READY, probe_command
from measure import Section, fresh_interpreter_env, interleaved, on_postgresql
from ml_bench_shop import trained_shop

from shopfn.manifest import load_manifest

#: Issue #23: import plus the first health event within 1.5x `import fastapi`.
TARGET = 1.5
#: Issue #23: predict's import plus its first prediction within 0.6x the scikit-learn import
#: (its floor measured at 0.57x).
PREDICT_TARGET = 0.60
RUNS = int(os.environ.get("BENCH_COLD_RUNS", "11"))
BASELINE = "import fastapi"
SKLEARN = "from sklearn.ensemble import HistGradientBoostingClassifier"
FIRST_PREDICTION = "predict: import handler, load model, 1 prediction"
#: Clock name per table: to exit for the API functions, to READY for predict and scikit-learn.
CLOCKS = {"cpu": ("cpu", "ready_cpu"), "wall": ("wall", "ready")}


def _command(subject: str) -> list[str]:
    if subject == BASELINE:
        return [sys.executable, "-c", BASELINE]
    return probe_command(subject)


def _import_times(command: Sequence[str], env: dict[str, str]) -> dict[str, int]:
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


def _functions() -> list[str]:
    """Every function in the manifest, or those in BENCH_COLD_FUNCTIONS (while iterating)."""
    functions = [spec.name for spec in load_manifest().functions]
    chosen = os.environ.get("BENCH_COLD_FUNCTIONS")
    return [name for name in functions if name in chosen.split(",")] if chosen else functions


#: Ends the name of each first real request's subject (timed for information, not asserted).
FIRST_REQUEST = "(info)"


def _first_request(function: str, path: str) -> str:
    return f"{function}: import handler + GET {path} {FIRST_REQUEST}"


def _prediction_commands(root: Path) -> dict[str, tuple[list[str], dict[str, str]]]:
    """scikit-learn's import and predict's first prediction, on a trained shop on PostgreSQL,
    and the first real requests (for information) on the same shop."""
    from sqlalchemy import select

    from shop.db import session_scope
    from shop.models import Product
    from shop.tokens import issue_access_token

    user_id = trained_shop()[0]
    with session_scope() as session:
        product_id = session.scalars(select(Product.id).order_by(Product.id).limit(1)).one()
    token, _ = issue_access_token(user_id, "customer")  # a simulated customer asks about itself
    env = fresh_interpreter_env(root)  # DATABASE_URL and DATA_DIR (the champions) as here
    # Signing the token is the users function's work, not part of predict's cold start.
    authorization = f"Bearer {token}"
    path = f"/ml/predictions/users/{user_id}"
    requests = [
        ("users", "/users/me"),
        ("orders", "/orders"),
        ("products", f"/products/{product_id}"),
    ]
    return {
        SKLEARN: ([sys.executable, "-c", f"{SKLEARN}; {PRINT_READY}"], env),
        FIRST_PREDICTION: (probe_command("predict", path, authorization), env),
        **{
            _first_request(function, path): (probe_command(function, path, authorization), env)
            for function, path in requests
        },
    }


@on_postgresql
def test_cold_starts_within_target(
    postgres_db: str, bench_report: Callable[[str], Section], tmp_path: Path
) -> None:
    functions = _functions()
    api_env = fresh_interpreter_env(tmp_path, drop=("DATABASE_URL",))  # SQLite, untraced
    api_env["DATA_DIR"] = str(tmp_path / "api-data")
    commands = {name: (_command(name), api_env) for name in [BASELINE, *functions]}
    predicting = "predict" in functions
    if predicting:
        commands |= _prediction_commands(tmp_path)
    typical = interleaved(commands, RUNS, ready_line=READY)

    def ratio(subject: str, baseline: str, clock: str) -> float:
        kind = CLOCKS[clock][subject in (SKLEARN, FIRST_PREDICTION)]
        return typical[subject][kind] / typical[baseline][kind]

    over: list[str] = []
    for clock, label in (("cpu", "CPU time (user + system)"), ("wall", "wall clock")):
        asserted = clock == "cpu"
        section = bench_report(f"Cold starts, {label} (median of {RUNS}, interleaved rounds)")
        section.add("import fastapi", typical[BASELINE][clock], ratio=1.0)
        for name in functions:
            measured = ratio(name, BASELINE, clock)
            section.add(
                f"{name}: import handler + health event",
                typical[name][clock],
                ratio=measured,
                target=f"<= {TARGET:.1f}x" if asserted else "",
            )
            if asserted and measured > TARGET:
                over.append(name)
        if predicting:
            ready = CLOCKS[clock][1]
            section.add(
                "import sklearn HistGradientBoostingClassifier", typical[SKLEARN][ready], ratio=1.0
            )
            measured = ratio(FIRST_PREDICTION, SKLEARN, clock)
            section.add(
                FIRST_PREDICTION,
                typical[FIRST_PREDICTION][ready],
                ratio=measured,
                target=f"<= {PREDICT_TARGET:.2f}x" if asserted else "",
            )
            if asserted and measured > PREDICT_TARGET:
                over.append("predict's first prediction")
            for subject in [name for name in typical if name.endswith(FIRST_REQUEST)]:
                section.add(
                    subject,
                    typical[subject][clock],
                    ratio=typical[subject][clock] / typical[BASELINE][clock],
                )
            section.notes.append(
                f"{FIRST_REQUEST}: a first real request on the PostgreSQL shop, not asserted"
            )
        section.notes.append(
            "API functions: start to exit; scikit-learn and predict: start to READY (no teardown)"
        )
        if asserted:
            section.verdict = "all within target" if not over else f"OVER TARGET: {', '.join(over)}"
        else:
            section.notes.append("for information: other jobs on the machine show here first")
        print("\n" + section.render())
    if over or os.environ.get("BENCH_VERBOSE"):
        for name in [name for name in functions if name in over] or functions:
            extra = _extra_imports(name, api_env)
            print(f"\n  imports beyond `import fastapi` in {name}:\n{extra}")
    assert not over, f"cold starts over target (CPU time): {', '.join(over)}"
