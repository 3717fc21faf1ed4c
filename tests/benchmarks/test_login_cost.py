"""Sign-in cost: `POST /users/login` vs one bcrypt verification at the real cost (12 rounds).

A login is dominated by bcrypt by design; everything else it does (throttle check, user
lookup, token signing, the refresh token and login event rows) must fit in 10% more.
Logins and bare `bcrypt.checkpw` calls alternate, so load hits both alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from measure import Section, median, on_postgresql, timed

CALLS = int(os.environ.get("BENCH_LOGIN_CALLS", "21"))
ROUNDS = 12  # the production default of BCRYPT_ROUNDS
TARGET = 1.10


@pytest.fixture
def real_bcrypt_cost(monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    """BCRYPT_ROUNDS at its production default for this test (the suite uses 4)."""
    from shop.settings import Settings, get_settings

    assert Settings.model_fields["bcrypt_rounds"].default == ROUNDS
    monkeypatch.setenv("BCRYPT_ROUNDS", str(ROUNDS))
    get_settings.cache_clear()
    yield ROUNDS
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def bcrypt_calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times bcrypt hashed or verified, counted at the library itself."""
    import bcrypt

    counts = {"checkpw": 0, "hashpw": 0}
    for name in counts:
        original = getattr(bcrypt, name)

        def counting(*args: Any, _name: str = name, _original: Any = original) -> Any:
            counts[_name] += 1
            return _original(*args)

        monkeypatch.setattr(bcrypt, name, counting)
    return counts


@on_postgresql
def test_login_costs_at_most_one_bcrypt_verification_plus_10_percent(
    postgres_db: str,
    real_bcrypt_cost: int,
    bcrypt_calls: dict[str, int],
    bench_report: Callable[[str], Section],
) -> None:
    import bcrypt
    from support import LambdaClient, unique_email

    client = LambdaClient()
    email, password = unique_email(), "correct horse battery staple"
    created = client.post(
        "/users/register", json={"email": email, "password": password, "full_name": "Bench"}
    )
    assert created.status == 201, created.body
    credentials = {"email": email, "password": password}
    assert client.post("/users/login", json=credentials).status == 200  # keys loaded once

    reference = bcrypt.hashpw(b"p" * 44, bcrypt.gensalt(real_bcrypt_cost))
    statuses: list[int] = []
    calls_per_login: list[dict[str, int]] = []
    login_times: list[float] = []
    bcrypt_times: list[float] = []
    for _ in range(CALLS):
        bcrypt_calls.update(checkpw=0, hashpw=0)
        login_times.append(
            timed(lambda: statuses.append(client.post("/users/login", json=credentials).status))
        )
        calls_per_login.append(dict(bcrypt_calls))
        bcrypt_times.append(timed(lambda: bcrypt.checkpw(b"p" * 44, reference)))
    assert statuses == [200] * CALLS
    # Each successful login verified the password exactly once and hashed nothing.
    assert calls_per_login == [{"checkpw": 1, "hashpw": 0}] * CALLS

    login, one_check = median(login_times), median(bcrypt_times)
    ratio = login / one_check
    section = bench_report(
        f"POST /users/login vs one bcrypt.checkpw at cost {real_bcrypt_cost} "
        f"(median of {CALLS}, alternating)"
    )
    section.add(f"bcrypt.checkpw, {real_bcrypt_cost} rounds", one_check, ratio=1.0)
    section.add(
        "POST /users/login (Lambda handler, PostgreSQL)",
        login,
        ratio=ratio,
        target=f"<= {TARGET:.2f}x",
    )
    section.notes.append("bcrypt verifications per successful login: 1 (counted)")
    section.verdict = "within target" if ratio <= TARGET else "OVER TARGET"
    print("\n" + section.render())
    assert ratio <= TARGET, f"a login costs {ratio:.2f}x one bcrypt verification"


@on_postgresql
def test_failed_logins_cost_one_bcrypt_verification_each(
    postgres_db: str, real_bcrypt_cost: int, bcrypt_calls: dict[str, int]
) -> None:
    """Wrong password and unknown e-mail both spend exactly one verification (same timing)."""
    from support import LambdaClient, sign_up, unique_email

    client = LambdaClient()
    account = sign_up(client)
    client.post("/users/login", json={"email": unique_email(), "password": "x" * 12})  # warm-up
    for credentials in (
        {"email": account.email, "password": "wrong password 1"},
        {"email": unique_email(), "password": "wrong password 1"},
    ):
        bcrypt_calls.update(checkpw=0, hashpw=0)
        reply = client.post("/users/login", json=credentials)
        assert reply.status == 401
        assert bcrypt_calls == {"checkpw": 1, "hashpw": 0}, credentials
