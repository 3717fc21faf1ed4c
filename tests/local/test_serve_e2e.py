"""`shopfn serve` as a user runs it: a subprocess on free ports, spoken to over real HTTP.

Covers the first start (migrate, seed, admin), sign-in, concurrency, unknown paths, a clean
stop on SIGTERM and SIGINT, SQLite and PostgreSQL, and the generated admin credentials.
"""

from __future__ import annotations

import json
import re
import signal
import stat
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from pg_databases import create_postgres_database, drop_postgres_database
from servers import ServeProcess, serve_environment
from support import PG_ADMIN_URL

ADMIN_EMAIL, ADMIN_PASSWORD = "serve-admin@example.com", "serve admin password"

pytestmark = pytest.mark.e2e


def _login(base: str, email: str, password: str) -> httpx.Response:
    return httpx.post(f"{base}/users/login", json={"email": email, "password": password})


def _assert_a_working_shop(served: ServeProcess) -> None:
    """What a new user checks first: catalog, admin, a customer account, unknown paths."""
    base = served.commerce
    catalog = httpx.get(f"{base}/products", params={"page_size": 100})
    assert catalog.status_code == 200
    assert catalog.json()["total"] >= 18
    assert len(httpx.get(f"{base}/products/categories").json()) >= 5

    admin = _login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert admin.status_code == 200, admin.text
    admin_token = admin.json()["access_token"]
    users = httpx.get(f"{base}/users", headers={"authorization": f"Bearer {admin_token}"})
    assert users.status_code == 200

    email = f"shopper-{uuid.uuid4().hex[:8]}@example.com"
    created = httpx.post(
        f"{base}/users/register",
        json={"email": email, "password": "shopper password", "full_name": "Shopper"},
    )
    assert created.status_code == 201, created.text
    token = _login(base, email, "shopper password").json()["access_token"]
    me = httpx.get(f"{base}/users/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == email and me.json()["role"] == "customer"
    assert me.headers["x-request-id"]

    for url in (f"{base}/nowhere", f"{served.ml}/nowhere", f"{base}/users/nope/nope"):
        missing = httpx.get(url)
        assert missing.status_code == 404, url
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["status"] == 404


@pytest.fixture(scope="module")
def sqlite_shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    data_dir = tmp_path_factory.mktemp("serve-sqlite")
    env = serve_environment(data_dir, ADMIN_EMAIL=ADMIN_EMAIL, ADMIN_PASSWORD=ADMIN_PASSWORD)
    served = ServeProcess(data_dir, env).start(timeout=120)
    yield served
    served.stop(signal.SIGKILL)


def test_a_fresh_start_on_sqlite_serves_a_seeded_shop_with_an_admin(
    sqlite_shop: ServeProcess,
) -> None:
    _assert_a_working_shop(sqlite_shop)
    assert (sqlite_shop.data_dir / "shopfn.db").exists()
    assert not (sqlite_shop.data_dir / "admin-credentials.txt").exists()


def test_twenty_concurrent_requests_all_succeed(sqlite_shop: ServeProcess) -> None:
    base = sqlite_shop.commerce
    urls = [f"{base}/products?page={n % 3 + 1}&page_size=5" for n in range(10)]
    urls += [f"{base}/products/categories"] * 5 + [f"{base}/users/health"] * 5

    with httpx.Client(timeout=30) as http, ThreadPoolExecutor(max_workers=20) as pool:
        replies = list(pool.map(http.get, urls))
    assert [reply.status_code for reply in replies] == [200] * 20
    assert len({reply.headers["x-request-id"] for reply in replies}) == 20


def _wait_for_line(served: ServeProcess, needle: str, timeout: float = 10) -> list[str]:
    """The log's lines once one of them contains `needle`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = served.log.read_text().splitlines()
        if any(needle in line for line in lines):
            return lines
        time.sleep(0.1)
    raise AssertionError(f"no line with {needle!r} in:\n{served.log.read_text()[-3000:]}")


def test_the_console_shows_where_everything_is_then_one_line_per_request(
    sqlite_shop: ServeProcess,
) -> None:
    missing = f"/products/{900000 + time.time_ns() % 99999}"
    assert httpx.get(f"{sqlite_shop.commerce}{missing}").status_code == 404
    lines = _wait_for_line(sqlite_shop, missing)
    text = "\n".join(lines)
    block = lines[lines.index("shopfn is running (Ctrl-C stops it)") :]
    rows = dict(re.split(r"\s{2,}", line.strip(), maxsplit=1) for line in block[1:6])
    assert rows["Commerce API"].startswith(sqlite_shop.commerce)
    assert rows["ML API"] == sqlite_shop.ml
    assert rows["Admin"] == f"{ADMIN_EMAIL} (password from ADMIN_PASSWORD)"
    assert rows["Database"] == f"SQLite file {(sqlite_shop.data_dir / 'shopfn.db').resolve()}"
    assert rows["Model store"] == str((sqlite_shop.data_dir / "artifacts").resolve())
    served = [line for line in lines if missing in line]
    assert len(served) == 1
    assert re.fullmatch(rf"\d\d:\d\d:\d\d products +GET +{missing} 404 \d+ ms", served[0])
    # Nothing of the structured logs: no metrics blob, no JSON, no uvicorn or mangum lines.
    assert "_aws" not in text and '{"level"' not in text
    assert "INFO:" not in text and "mangum" not in text and "alembic" not in text
    # A normal start warns about nothing, and idle scheduled jobs print nothing.
    assert "WARNING" not in text and "ERROR" not in text and "scheduler" not in text
    assert "dashboard on" not in text  # the block shows its address
    assert "simulate: First training finished: new models in use." in text  # the demo history


def test_sigterm_stops_the_server_cleanly(sqlite_shop: ServeProcess) -> None:
    started = time.monotonic()
    assert sqlite_shop.stop(signal.SIGTERM) == 0
    assert time.monotonic() - started < 10
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sqlite_shop.commerce}/users/health", timeout=2)
    assert "Traceback" not in sqlite_shop.log.read_text()


def test_without_admin_settings_the_first_start_writes_private_credentials_that_work(
    tmp_path: Path,
) -> None:
    served = ServeProcess(tmp_path, serve_environment(tmp_path)).start(timeout=120)
    try:
        credentials = tmp_path / "admin-credentials.txt"
        assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
        values = dict(line.split("=", 1) for line in credentials.read_text().splitlines())
        # The startup block follows the first answers by a moment: wait for it.
        lines = _wait_for_line(
            served, f"e-mail and password in {credentials.resolve()}", timeout=60
        )
        created = [line for line in lines if "created the admin account" in line]
        assert created and "WARNING" not in created[0]  # expected on a first start
        signed_in = _login(served.commerce, values["email"], values["password"])
        assert signed_in.status_code == 200, signed_in.text
        token = signed_in.json()["access_token"]
        me = httpx.get(f"{served.commerce}/users/me", headers={"authorization": f"Bearer {token}"})
        assert me.json()["role"] == "admin"
    finally:
        code = served.stop(signal.SIGINT)
    assert code == 0


def test_ctrl_c_in_a_terminal_stops_a_ready_server_cleanly(tmp_path: Path) -> None:
    # A terminal's Ctrl-C reaches `uv run` and serve alike, and `uv run` passes its own on, so
    # serve gets SIGINT more than once, the later ones while it is already shutting down.
    served = ServeProcess(tmp_path, serve_environment(tmp_path)).start(timeout=120)
    assert served.process is not None
    try:
        _wait_for_line(served, "shopfn is running", timeout=60)
        deadline = time.monotonic() + 15
        while served.process.poll() is None and time.monotonic() < deadline:
            served.process.send_signal(signal.SIGINT)
            time.sleep(0.05)
        code = served.stop(signal.SIGINT)
    finally:
        served.close()
    log = served.log.read_text()
    assert code == 0, log
    assert "before it was ready" not in log and "Traceback" not in log, log


def test_log_format_json_keeps_the_structured_logs_and_metrics(tmp_path: Path) -> None:
    env = serve_environment(tmp_path, POWERTOOLS_LOG_LEVEL="DEBUG", SEED_DEMO_HISTORY="false")
    served = ServeProcess(tmp_path, env, options=("--no-dashboard", "--log-format", "json"))
    served.start(timeout=120)
    try:
        reply = httpx.get(f"{served.commerce}/products/categories")
        assert reply.status_code == 200
        request_id = reply.headers["x-request-id"]
        lines = _wait_for_line(served, f'"request_id":"{request_id}"')
    finally:
        served.stop(signal.SIGTERM)
    records = [json.loads(line) for line in lines if line.startswith("{")]
    served_line = next(r for r in records if r.get("request_id") == request_id)
    assert served_line["message"] == "request served" and served_line["service"] == "products"
    assert served_line["path"] == "/products/categories" and served_line["status"] == 200
    assert any(r.get("_aws", {}).get("CloudWatchMetrics") for r in records)  # EMF cold start
    assert "shopfn is running" not in "\n".join(lines)


@pytest.fixture(params=["direct", "pgbouncer"])
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A database of its own on the test PostgreSQL (directly or through PgBouncer), dropped
    afterwards."""
    name = f"shopfn_serve_{uuid.uuid4().hex[:10]}"
    url = create_postgres_database(PG_ADMIN_URL, name)
    if request.param == "pgbouncer":
        url = request.getfixturevalue("pooler").url_for(url)
    try:
        yield url
    finally:
        drop_postgres_database(PG_ADMIN_URL, name)


def test_the_same_shop_runs_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    env = serve_environment(
        tmp_path,
        DATABASE_URL=postgres_url,
        ADMIN_EMAIL=ADMIN_EMAIL,
        ADMIN_PASSWORD=ADMIN_PASSWORD,
    )
    served = ServeProcess(tmp_path, env).start(timeout=120)
    try:
        _assert_a_working_shop(served)
        assert not (tmp_path / "shopfn.db").exists()
    finally:
        code = served.stop(signal.SIGTERM)
    assert code == 0


def test_ctrl_c_while_it_still_starts_stops_it_in_one_line(tmp_path: Path) -> None:
    served = ServeProcess(tmp_path, serve_environment(tmp_path)).launch()
    try:
        # The catalog is seeded; the demo history and the first training are still ahead.
        _wait_for_line(served, "starter products", timeout=60)
        code = served.stop(signal.SIGINT)
    finally:
        served.close()
    log = served.log.read_text()
    assert code == 130, log
    assert log.rstrip().endswith("shopfn serve stopped before it was ready."), log
    assert "Traceback" not in log
