"""ML monitoring: champions, run metrics over time, at-risk customers, funnel, drift, retraining."""

from __future__ import annotations

from typing import Any

import plotly.express as px
import streamlit as st
from shopui.client import ApiError, NotAvailable
from shopui.session import api, call, money, require_admin, show_error
from shopui.tables import as_rows, first, number

ACTIVE = {"queued", "running"}
RUN_KEY = "retrain_run_id"

require_admin()
st.title("ML monitoring")


def _items(value: Any, *keys: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        for key in (*keys, "items"):
            if key in value:
                return as_rows(value[key])
        return []
    return as_rows(value)


# -- champion models ---------------------------------------------------------------------------
st.subheader("Champion models")
models = call(api().models, feature="The model registry")
if models is not None:
    champions = [m for m in _items(models, "models") if m.get("is_champion")]
    if not champions:
        st.info("No model is trained yet: start a run below.")
    cols = st.columns(max(1, len(champions)))
    for col, model in zip(cols, champions, strict=False):
        with col, st.container(border=True):
            st.markdown(f"**{model['name']}** · version {model.get('version')}")
            st.caption(f"trained {str(model.get('trained_at', ''))[:16].replace('T', ' ')} UTC")
            metrics = model.get("metrics") or {}
            for name, value in list(metrics.items())[:4]:
                st.metric(name, f"{number(value):.3f}" if isinstance(value, int | float) else value)

# -- retraining --------------------------------------------------------------------------------
st.subheader("Retraining")
schedule_col, button_col = st.columns([3, 1])
try:
    schedule = api().retrain_schedule()
except NotAvailable:
    schedule = None
except ApiError as exc:
    show_error(exc, feature="The retrain schedule")
    schedule = None
if isinstance(schedule, dict):
    text = first(schedule, "description", "expression", "cron", default=str(schedule))
    nxt = first(schedule, "next_run_at", "next_run", default=None)
    schedule_col.info(
        f"Nightly schedule: {text}" + (f" · next run {nxt}" if nxt else ""),
        icon=":material/bedtime:",
    )
else:
    schedule_col.info(
        "Models retrain nightly on the EventBridge schedule.", icon=":material/bedtime:"
    )

if button_col.button("Retrain now", type="primary", key="retrain_now"):
    started = call(api().start_retrain, feature="Retraining")
    if started is not None:
        st.session_state[RUN_KEY] = started["run_id"]
        st.toast(f"Run {started['run_id']} queued")


@st.fragment(run_every=2)
def _active_run() -> None:
    """Polls the run started here until it ends; the rest of the page stays put."""
    run_id = st.session_state.get(RUN_KEY)
    if run_id is None:
        return
    try:
        run = api().retrain_run(run_id)
    except ApiError as exc:
        show_error(exc, feature="Retraining")
        st.session_state.pop(RUN_KEY, None)
        return
    status = run.get("status", "?")
    if status in ACTIVE:
        st.info(f"Run {run_id} is {status}…", icon=":material/hourglass_top:")
        return
    st.session_state.pop(RUN_KEY, None)
    verdict = "promoted" if run.get("promoted") else "not promoted"
    message = f"Run {run_id} {status}: {verdict}. {run.get('reason') or ''}".strip()
    (st.success if status == "succeeded" else st.warning)(message)
    st.rerun()  # refresh champions and history with the finished run


_active_run()

runs_page = call(api().retrain_runs, page_size=100, feature="Run history")
runs = _items(runs_page, "runs")
if runs_page is not None and not runs:
    st.caption("No runs yet.")
if runs:
    metric_rows = []
    for run in runs:
        for name, value in (run.get("metrics") or {}).items():
            if isinstance(value, int | float):
                metric_rows.append(
                    {
                        "started": first(run, "started_at", "queued_at"),
                        "metric": name,
                        "value": value,
                    }
                )
            elif isinstance(value, dict):  # {"churn": {"auc": ...}, "spend": {...}}
                for sub, sub_value in value.items():
                    if isinstance(sub_value, int | float):
                        metric_rows.append(
                            {
                                "started": first(run, "started_at", "queued_at"),
                                "metric": f"{name}.{sub}",
                                "value": sub_value,
                            }
                        )
    if metric_rows:
        metric_rows.sort(key=lambda r: str(r["started"]))
        fig = px.line(
            metric_rows,
            x="started",
            y="value",
            color="metric",
            markers=True,
            title="Metrics of every run",
        )
        st.plotly_chart(fig, key="run_metrics_chart")
    st.markdown("**Run history**")
    st.dataframe(
        [
            {
                "run": r.get("run_id"),
                "trigger": r.get("trigger"),
                "status": r.get("status"),
                "started": str(r.get("started_at") or "")[:19].replace("T", " "),
                "finished": str(r.get("finished_at") or "")[:19].replace("T", " "),
                "promoted": r.get("promoted"),
                "reason": r.get("reason"),
            }
            for r in runs
        ],
        hide_index=True,
    )

# -- customers at risk -------------------------------------------------------------------------
st.subheader("Customers at risk")
at_risk = call(api().at_risk, limit=200, feature="Churn predictions")
if at_risk is not None:
    rows = _items(at_risk, "predictions", "users")
    if not rows:
        st.info("No predictions yet.")
    else:
        risk_col, table_col = st.columns([2, 3])
        fig = px.histogram(
            x=[number(r.get("churn_probability")) for r in rows],
            color=[str(r.get("churn_risk", "?")) for r in rows],
            nbins=20,
            labels={"x": "churn probability", "color": "risk"},
            title="Churn-risk distribution",
        )
        risk_col.plotly_chart(fig, key="churn_hist")
        table_col.dataframe(
            [
                {
                    "user": first(r, "email", "user_id"),
                    "churn probability": round(number(r.get("churn_probability")), 3),
                    "risk": r.get("churn_risk"),
                    "predicted spend 30d": money(r.get("predicted_spend_30d")),
                }
                for r in rows[:50]
            ],
            hide_index=True,
        )

# -- behavior funnel ---------------------------------------------------------------------------
st.subheader("Behavior")
behavior = call(api().behavior, days=30, feature="Behavior analytics")
if isinstance(behavior, dict):
    funnel = as_rows(first(behavior, "funnel", default=[]), "stage", "count")
    daily = as_rows(first(behavior, "by_day", "daily", "per_day", "events", default=[]))
    funnel_col, daily_col = st.columns(2)
    if funnel:
        fig = px.funnel(
            x=[number(first(r, "count", "users", "value", default=0)) for r in funnel],
            y=[str(first(r, "stage", "name", "step", "event_type", default="?")) for r in funnel],
            title="Conversion funnel (30 days)",
        )
        funnel_col.plotly_chart(fig, key="funnel_chart")
    if daily and "count" in daily[0]:
        fig = px.area(
            daily,
            x=next(k for k in ("day", "date") if k in daily[0])
            if any(k in daily[0] for k in ("day", "date"))
            else None,
            y="count",
            color="event_type" if "event_type" in daily[0] else None,
            title="Events per day",
        )
        daily_col.plotly_chart(fig, key="events_chart")

# -- feature drift -----------------------------------------------------------------------------
st.subheader("Feature drift")
drift = call(api().drift, feature="Feature drift")
if drift is not None:
    features = _items(drift, "features")
    if features:
        name_key = next((k for k in ("feature", "name") if k in features[0]), None)
        score_key = next((k for k in ("psi", "score", "drift", "ks") if k in features[0]), None)
        if name_key and score_key:
            fig = px.bar(
                x=[r[name_key] for r in features],
                y=[number(r[score_key]) for r in features],
                labels={"x": "feature", "y": score_key},
                title="Drift since training",
            )
            st.plotly_chart(fig, key="drift_chart")
        st.dataframe(features, hide_index=True)
    else:
        st.info("No drift report yet.")
