"""Runs recorded as "cli" by early builds become "manual", so listing runs keeps working."""

from __future__ import annotations

from support import LambdaClient, make_admin


def test_runs_recorded_as_cli_are_listed_as_manual_after_migrating(
    client: LambdaClient, db: str
) -> None:
    from alembic import command

    from shop.coltypes import utcnow
    from shop.db import get_engine, session_scope
    from shop.migrate import _config, upgrade
    from shop.models import TrainingRun

    engine = get_engine()
    with engine.begin() as connection:
        config = _config(engine)
        config.attributes["connection"] = connection
        command.downgrade(config, "0006_behavior_time_index")
    with session_scope() as session:
        session.add(TrainingRun(trigger="cli", status="succeeded", queued_at=utcnow(), metrics={}))

    upgrade()

    admin = make_admin(client)
    runs = client.get("/ml/retrain/runs", token=admin.access_token)
    assert runs.status == 200, runs.body
    assert [run["trigger"] for run in runs.json()["items"]] == ["manual"]
