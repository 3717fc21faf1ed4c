"""ML monitoring: champions, run metrics over time, at-risk customers, funnel, drift, retraining."""

from __future__ import annotations

from typing import Any

import plotly.express as px
import streamlit as st

from shopui.client import ApiError, NotAvailable
from shopui.session import api, call, money, require_admin, show_error
from shopui.tables import as_rows, first, number

ACTIVE = {"queued", "running"}
HEADLINE = {"auc", "brier", "log_loss", "ece", "mae", "rmse", "spearman"}
RUN_METRICS = {
    "churn": ("auc", "brier", "log_loss", "ece"),
    "spend": ("mae", "rmse", "spearman"),
}
RUN_KEY = "retrain_run_id"
RESULT_KEY = "retrain_last_result"

require_admin()
st.title("ML monitoring")


def _items(value: Any, *keys: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        for key in (*keys, "items"):
            if key in value:
                return as_rows(value[key])
        return []
    return as_rows(value)


def _headline(metrics: dict[str, Any]) -> list[tuple[str, float]]:
    """Scalar metrics, the known headline ones first, nested dicts flattened one level."""
    flat: list[tuple[str, float]] = []
    for name, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            flat.append((name, float(value)))
        elif isinstance(value, dict):
            flat += [
                (f"{name}.{k}", float(v))
                for k, v in value.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            ]
    flat.sort(key=lambda item: item[0].rsplit(".", 1)[-1] not in HEADLINE)
    return flat


def _duration(run: dict[str, Any]) -> float | None:
    from datetime import datetime

    started, finished = run.get("started_at"), run.get("finished_at")
    if not (started and finished):
        return None
    try:
        delta = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return None
    return round(delta.total_seconds(), 1)


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
            for name, value in _headline(model.get("metrics") or {})[:4]:
                st.metric(name, f"{value:.3f}")

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
        st.session_state.pop(RESULT_KEY, None)
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
    st.session_state[RESULT_KEY] = (status, message)
    st.rerun()  # the whole page: champions and history now include the finished run


if RESULT_KEY in st.session_state:
    status, message = st.session_state[RESULT_KEY]
    (st.success if status == "succeeded" else st.warning)(message)
_active_run()

history = call(api().run_metrics, limit=100, feature="Run metrics over time")
if history:
    chart_cols = st.columns(len(RUN_METRICS))
    for col, (model_name, keys) in zip(chart_cols, RUN_METRICS.items(), strict=True):
        points = [
            {"run": r["run_id"], "metric": key, "value": (r.get(model_name) or {}).get(key)}
            for r in history
            for key in keys
            if isinstance((r.get(model_name) or {}).get(key), int | float)
        ]
        if points:
            fig = px.line(
                points,
                x="run",
                y="value",
                color="metric",
                markers=True,
                title=f"{model_name} metrics of every run",
            )
            col.plotly_chart(fig, key=f"run_metrics_{model_name}")

runs_page = call(api().retrain_runs, page_size=50, feature="Run history")
runs = _items(runs_page, "runs")
if runs_page is not None and not runs:
    st.caption("No runs yet.")
if runs:
    st.markdown("**Run history**")
    st.dataframe(
        [
            {
                "run": r.get("run_id"),
                "trigger": r.get("trigger"),
                "status": r.get("status"),
                "queued": str(r.get("queued_at") or "")[:19].replace("T", " "),
                "duration (s)": _duration(r),
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
    daily = as_rows(first(behavior, "counts", "by_day", default=[]))
    funnel_col, daily_col = st.columns(2)
    if funnel:
        fig = px.funnel(
            x=[number(first(r, "count", "users", "value", default=0)) for r in funnel],
            y=[str(first(r, "stage", "name", "step", "event_type", default="?")) for r in funnel],
            title="Conversion funnel (30 days)",
            labels={"x": "users", "y": ""},
        )
        funnel_col.plotly_chart(fig, key="funnel_chart")
    if daily and {"day", "count"} <= daily[0].keys():
        fig = px.bar(
            daily,
            x="day",
            y="count",
            color="event_type" if "event_type" in daily[0] else None,
            title="Events per day",
        )
        daily_col.plotly_chart(fig, key="events_chart")

# -- feature drift -----------------------------------------------------------------------------
st.subheader("Feature drift")
drift_model = st.segmented_control("Model", ["churn", "spend"], default="churn", key="drift_model")
drift = call(api().drift, drift_model or "churn", feature="Feature drift")
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
