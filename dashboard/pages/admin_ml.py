"""ML monitoring in a shop owner's words: how good the models are, retraining, risk, drift."""

from __future__ import annotations

from typing import Any

import plotly.express as px
import streamlit as st

from shopui import formatting as fmt
from shopui import ml_words as words
from shopui import recommend_words
from shopui.campaign_panel import campaign_section
from shopui.client import ApiError, NotAvailable
from shopui.plaintext import chart_label, literal, no_math
from shopui.session import api, call, require_admin, show_error
from shopui.tables import as_rows, first, number

ACTIVE = {"queued", "running"}
RUN_KEY = "retrain_run_id"
RESULT_KEY = "retrain_last_result"
RISK_COLOURS = {"High": "#d62728", "Medium": "#ff9f1c", "Low": "#2ca02c"}
DRIFT_COLOURS = {"Changed a lot": "#d62728", "Changed somewhat": "#ff9f1c", "Steady": "#2ca02c"}

require_admin()
st.title("ML monitoring")
st.caption(
    "Two models help you keep customers: one spots the customers you are about to lose, the "
    "other forecasts what each customer will spend. They retrain by themselves; this page "
    f"says how good they are and what changed. {fmt.TIME_ZONE_NOTE}"
)


def _items(value: Any, *keys: str) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        for key in (*keys, "items"):
            if key in value:
                return as_rows(value[key])
        return []
    return as_rows(value)


runs_page = call(api().retrain_runs, page_size=50, feature="Run history")
runs = _items(runs_page, "runs")
latest = next((r for r in runs if r.get("status") == "succeeded"), None)
horizon = int(
    first(((latest or {}).get("metrics") or {}).get("data") or {}, "horizon_days", default=30)
)

# -- how good the models in use are ---------------------------------------------------------
st.subheader("How good are the models in use?")
models = call(api().models, feature="The model list")
recommender: dict[str, Any] | None = None
if models is not None:
    listed = [m for m in _items(models, "models") if m.get("is_champion")]
    champions = {m["name"]: m for m in listed if m["name"] != "recommendations"}
    recommender = next((m for m in listed if m["name"] == "recommendations"), None)
    if not champions:
        st.info("No model is trained yet. Press Retrain now below to train the first ones.")
    names = [n for n in words.MODEL_TITLES if n in champions] + [
        n for n in champions if n not in words.MODEL_TITLES
    ]
    for col, name in zip(st.columns(max(1, len(names))), names, strict=False):
        model = champions[name]
        metrics = model.get("metrics") or {}
        with col, st.container(border=True):
            st.markdown(f"**{words.MODEL_TITLES.get(name, name.capitalize())}**")
            st.caption(
                f"{words.MODEL_PURPOSES.get(name, '')} Trained {fmt.when(model.get('trained_at'))}."
            )
            for line in words.headlines(name, metrics):
                st.markdown(no_math(line.sentence), help=no_math(line.help))
            compared = words.comparison(name, latest) if latest else None
            if compared:
                st.markdown(no_math(compared.sentence), help=no_math(compared.help) or None)
            with st.expander("Technical details"):
                st.caption(f"Model `{model.get('kind')}`, version `{model.get('version')}`.")
                st.dataframe(words.details(metrics), hide_index=True)

# -- recommendations --------------------------------------------------------------------------
st.subheader("Recommendations in the shop")
try:
    impact = api().recommendation_impact(days=30)
except NotAvailable:
    impact = None
except ApiError as exc:
    show_error(exc, feature="The recommendations")
    impact = None
if impact is not None:
    st.markdown(no_math(recommend_words.showing(impact)))
    st.markdown(no_math(recommend_words.led_to(impact)))
# The served model's measurement; without one, the latest run's (why best sellers are shown).
measured = (recommender or {}).get("metrics") or ((latest or {}).get("metrics") or {}).get(
    "recommendations"
)
for quality_line in recommend_words.quality(measured or {}):
    st.markdown(no_math(quality_line))

# -- retraining ------------------------------------------------------------------------------
st.subheader("Retraining")
schedule_col, button_col = st.columns([3, 1])
try:
    schedule = api().retrain_schedule()
except NotAvailable:
    schedule = None
    schedule_col.info(
        "The ML API does not say when models retrain by themselves yet.", icon=":material/bedtime:"
    )
except ApiError as exc:
    schedule = None
    with schedule_col:
        show_error(exc, feature="The retrain schedule")
if isinstance(schedule, dict):
    where = literal(schedule.get("runs_on"))
    schedule_text = f"Models retrain {literal(schedule.get('description'))} ({where})."
    if schedule.get("next_run_at"):
        schedule_text += f" Next automatic run: {fmt.when(schedule['next_run_at'], zone=True)}."
    others = [words.trigger_clause(t) for t in schedule.get("triggers", []) if t != "schedule"]
    if others:
        started_by = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " or " + others[-1]
        schedule_text += f" A run also starts {started_by}."
    schedule_col.info(no_math(schedule_text), icon=":material/bedtime:")

if button_col.button("Retrain now", type="primary", key="retrain_now"):
    started = call(api().start_retrain, feature="Retraining")
    if started is not None:
        st.session_state.pop(RESULT_KEY, None)
        st.session_state[RUN_KEY] = started["run_id"]
        st.toast(f"Run {started['run_id']} is waiting to start")


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
        st.info(f"Run {run_id}: {words.status_words(status)}…", icon=":material/hourglass_top:")
        return
    st.session_state.pop(RUN_KEY, None)
    st.session_state[RESULT_KEY] = (status, words.run_finished_message(run))
    st.rerun()  # the whole page: the models and the history now include the finished run


if RESULT_KEY in st.session_state:
    status, message = st.session_state[RESULT_KEY]
    (st.success if status == "succeeded" else st.warning)(no_math(message))
_active_run()

finished = [r for r in reversed(runs) if r.get("status") == "succeeded"]
if finished:
    churn_col, spend_col = st.columns(2)
    churn_points = [
        (r["run_id"], auc * 100)
        for r in finished
        if (auc := words.chosen_metric(r, "churn", "auc")) is not None
    ]
    spend_points = [
        (r["run_id"], words.chosen_metric(r, "spend", "mae"))
        for r in finished
        if words.chosen_metric(r, "spend", "mae") is not None
    ]
    if churn_points:
        fig = px.line(
            x=[p[0] for p in churn_points],
            y=[p[1] for p in churn_points],
            markers=True,
            labels={"x": "run", "y": "leaving told from staying (%)"},
            title="Spotting who leaves, run by run (higher is better)",
        )
        fig.update_xaxes(dtick=1)
        churn_col.plotly_chart(fig, key="run_metrics_churn")
    if spend_points:
        fig = px.line(
            x=[p[0] for p in spend_points],
            y=[p[1] for p in spend_points],
            markers=True,
            labels={"x": "run", "y": f"typical miss ({fmt.currency()})"},
            title="Typical spend miss, run by run (lower is better)",
        )
        fig.update_xaxes(dtick=1)
        spend_col.plotly_chart(fig, key="run_metrics_spend")

if runs_page is not None and not runs:
    st.caption("No runs yet.")
if runs:
    st.markdown("**Run history**")
    st.dataframe(
        [
            {
                "Run": r.get("run_id"),
                "Started by": words.trigger_words(r.get("trigger")),
                "Queued": fmt.when(r.get("queued_at")),
                "Took": fmt.duration(
                    fmt.seconds_between(r.get("started_at"), r.get("finished_at"))
                ),
                "Result": words.status_words(r.get("status")),
                "What changed": words.run_outcome(r),
            }
            for r in runs
        ],
        hide_index=True,
    )
    with st.expander("How to read the run history"):
        st.markdown(
            "Each run trains new candidate models on your shop's history and checks them on "
            "the most recent weeks they did not learn from. A new model replaces the one in use "
            "only when it does better on those weeks. *Skipped* runs had too little history or "
            "found another run still busy; *failed* runs hit an error and changed nothing."
        )
        st.dataframe(
            [{"Run": r.get("run_id"), "Technical reason": r.get("reason") or ""} for r in runs],
            hide_index=True,
        )

# -- customers at risk -----------------------------------------------------------------------
st.subheader("Customers at risk of leaving")
st.caption(words.risk_bands(horizon))
at_risk = call(api().at_risk, limit=200, feature="The churn predictions")
if at_risk is not None:
    rows = _items(at_risk, "predictions", "users")
    if not rows:
        st.info("No predictions yet: they appear once a model is trained.")
    else:
        risk_col, table_col = st.columns([2, 3])
        fig = px.histogram(
            x=[number(r.get("churn_probability")) * 100 for r in rows],
            color=[words.RISK_WORDS.get(str(r.get("churn_risk")), "?") for r in rows],
            nbins=20,
            labels={"x": "chance of leaving (%)", "color": "risk"},
            color_discrete_map=RISK_COLOURS,
            title="How many customers have each chance of leaving",
        )
        risk_col.plotly_chart(fig, key="churn_hist")
        table_col.dataframe(
            [
                {
                    "Customer": first(r, "email", "user_id"),
                    "Chance of leaving": fmt.percent(r.get("churn_probability")),
                    "Risk": words.RISK_WORDS.get(str(r.get("churn_risk")), "?"),
                    f"Expected spend, next {words.SPEND_DAYS} days": fmt.money(
                        r.get("predicted_spend_30d")
                    ),
                }
                for r in rows[:50]
            ],
            hide_index=True,
        )

campaign_section()

# -- behavior funnel -------------------------------------------------------------------------
st.subheader("What shoppers do")
behavior = call(api().behavior, days=30, feature="Shopper behaviour")
if isinstance(behavior, dict):
    funnel = as_rows(first(behavior, "funnel", default=[]), "stage", "count")
    daily = as_rows(first(behavior, "counts", "by_day", default=[]))
    funnel_col, daily_col = st.columns(2)
    if funnel:
        fig = px.funnel(
            x=[number(first(r, "count", "users", "value", default=0)) for r in funnel],
            y=[
                chart_label(words.event_words(first(r, "stage", "name", "event_type", default="?")))
                for r in funnel
            ],
            title="From looking to buying, last 30 days (shoppers at each step)",
            labels={"x": "shoppers", "y": ""},
        )
        funnel_col.plotly_chart(fig, key="funnel_chart")
    if daily and {"day", "count"} <= daily[0].keys():
        fig = px.bar(
            x=[str(r["day"]) for r in daily],
            y=[number(r["count"]) for r in daily],
            color=[words.event_words(r.get("event_type", "")) for r in daily],
            labels={"x": "day", "y": "times", "color": "what they did"},
            title="What shoppers did each day",
        )
        daily_col.plotly_chart(fig, key="events_chart")

# -- drift -----------------------------------------------------------------------------------
st.subheader("Have customers changed since the models learned?")
drift_model = st.segmented_control(
    "Model",
    ["churn", "spend"],
    default="churn",
    format_func=lambda n: words.MODEL_TITLES.get(n, n),
    key="drift_model",
)
drift = call(api().drift, drift_model or "churn", feature="The drift report")
if drift is not None:
    features = _items(drift, "features")
    if features:
        st.markdown(words.drift_summary(drift_model or "churn", features), help=words.DRIFT_HELP)
        fig = px.bar(
            x=[chart_label(words.signal_words(str(r.get("feature")))) for r in features],
            y=[number(r.get("psi")) for r in features],
            color=[words.DRIFT_LEVELS.get(str(r.get("level")), "?") for r in features],
            labels={"x": "", "y": "how much it changed", "color": "change"},
            color_discrete_map=DRIFT_COLOURS,
            title="How much each customer signal changed since training",
        )
        st.plotly_chart(fig, key="drift_chart")
        with st.expander("Every signal"):
            st.dataframe(
                [
                    {
                        "Signal": words.signal_words(str(r.get("feature"))),
                        "Change": words.DRIFT_LEVELS.get(str(r.get("level")), "?"),
                        "PSI": fmt.decimal(r.get("psi"), 2),
                        "Technical name": r.get("feature"),
                    }
                    for r in features
                ],
                hide_index=True,
            )
    else:
        st.info("No drift report yet: it appears once a model is trained.")
