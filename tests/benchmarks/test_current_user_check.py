"""Cost of checking the caller's current state on PostgreSQL: what a signed-in request adds.

Every authenticated request verifies the token's signature and reads the account's row by
primary key (role, active flag, token epoch). Measured as one warm dependency run (session,
check, close) against a bare primary-key select on the same engine, alternating.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from measure import Section, median, on_postgresql, timed

CALLS = int(os.environ.get("BENCH_AUTH_CALLS", "1000"))
#: The row read costs what a bare select does; signature checking (RSA verify) comes on top.
TARGET = 2.0


@on_postgresql
def test_checking_the_callers_state_costs_at_most_2x_a_bare_select(
    postgres_db: str, bench_report: Callable[[str], Section]
) -> None:
    from sqlalchemy.orm import Session

    from shop.db import get_engine, new_session, session_scope
    from shop.models import User
    from shop.services.current_user import confirm_principal
    from shop.tokens import issue_access_token, verify_access_token

    with session_scope() as session:
        user = User(email="bench-auth@example.com", full_name="Bench", password_hash="x")
        session.add(user)
        session.flush()
        user_id = user.id
    token, _ = issue_access_token(user_id, "customer", 0)
    engine = get_engine()

    def check() -> None:
        session = new_session()
        try:
            assert confirm_principal(session, verify_access_token(token)).user_id == user_id
        finally:
            session.close()

    def bare() -> None:
        with Session(engine) as session:
            assert session.get(User, user_id) is not None

    check(), bare()  # warm: key loaded, statements compiled, connection open
    check_times: list[float] = []
    bare_times: list[float] = []
    for _ in range(CALLS):
        check_times.append(timed(check))
        bare_times.append(timed(bare))
    ratio = median(check_times) / median(bare_times)
    section = bench_report(f"Current-state check of a signed-in caller ({CALLS} calls)")
    section.add("bare session.get(User, id) (p50)", median(bare_times), ratio=1.0)
    section.add(
        "verify token + read role/active/epoch by id (p50)",
        median(check_times),
        ratio=ratio,
        target=f"<= {TARGET:.1f}x",
    )
    section.verdict = "within target" if ratio <= TARGET else "OVER TARGET"
    print("\n" + section.render())
    assert ratio <= TARGET, f"the check is {ratio:.2f}x a bare select (target {TARGET}x)"
