"""The models in a shop owner's words: one sentence per headline, the technical name in a tooltip.

Pure functions of the ML API's answers, so the sentences are tested without a browser.
`Headline.sentence` is what the page says; `Headline.help` names the metric and explains it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from shopui.formatting import count, decimal, money, percent, plural, points

#: Mirrors of the ML API's rules (the dashboard talks HTTP only); tests check they agree.
HIGH_RISK = 0.7
MEDIUM_RISK = 0.4
PRIMARY_METRIC: dict[str, tuple[str, bool]] = {"churn": ("auc", True), "spend": ("rmse", False)}
SPEND_DAYS = 30

MODEL_TITLES = {
    "churn": "Who is about to stop buying",
    "spend": "What each customer will spend in the next 30 days",
}
MODEL_PURPOSES = {
    "churn": "Gives every customer a chance of placing no order in the coming weeks, so you "
    "can reach out to the ones you are about to lose.",
    "spend": "Forecasts what each customer will spend in the next 30 days, so you know who "
    "matters most and what to expect.",
}


@dataclass(frozen=True)
class Metric:
    """What a technical metric is called and what it means, in one line."""

    name: str
    meaning: str
    kind: str  # share | money | score | count


METRICS: dict[str, Metric] = {
    "auc": Metric(
        "AUC (area under the ROC curve)",
        "the chance the model ranks a customer who left above one who stayed; "
        "0.5 is a coin toss, 1.0 is perfect.",
        "score",
    ),
    "ece": Metric(
        "ECE (expected calibration error)",
        "the average gap between the chance the model gives and how often it really "
        "happens; 0 is perfect.",
        "score",
    ),
    "brier": Metric(
        "Brier score",
        "the average squared gap between the predicted chance and what happened; "
        "lower is better, 0.25 is what always saying 50% gets.",
        "score",
    ),
    "log_loss": Metric(
        "Log loss",
        "how surprised the model is by what really happened; lower is better, and "
        "confident mistakes cost the most.",
        "score",
    ),
    "mae": Metric(
        "MAE (mean absolute error)",
        "the average gap between forecast and real 30-day spend, in money.",
        "money",
    ),
    "rmse": Metric(
        "RMSE (root mean squared error)",
        "like the average miss, but big misses count more; in money, lower is better.",
        "money",
    ),
    "spearman": Metric(
        "Spearman rank correlation",
        "how well the forecast puts customers in the order of what they really spend; "
        "0 is random, 1 is the exact order.",
        "score",
    ),
    "examples": Metric(
        "Validation examples",
        "customers the model was checked on, which it had not seen while learning.",
        "count",
    ),
}


@dataclass(frozen=True)
class Headline:
    sentence: str
    help: str


def _number(metrics: dict[str, Any], key: str) -> float | None:
    value = metrics.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def metric_value(key: str, value: Any) -> str:
    """A metric's value as the details table shows it: money in money, counts whole."""
    kind = METRICS[key].kind if key in METRICS else "score"
    if kind == "money":
        return money(value)
    if kind == "count":
        return count(value)
    return decimal(value)


def technical(key: str, value: Any) -> str:
    """`AUC (area under the ROC curve) 0.816: the chance ...` for a tooltip."""
    metric = METRICS.get(key, Metric(key, "", "score"))
    return f"{metric.name} {metric_value(key, value)}: {metric.meaning}".rstrip(": ")


def headlines(name: str, metrics: dict[str, Any]) -> list[Headline]:
    """The plain sentences for one model's metrics, best-known first."""
    lines: list[Headline] = []
    auc, ece = _number(metrics, "auc"), _number(metrics, "ece")
    mae, spearman = _number(metrics, "mae"), _number(metrics, "spearman")
    examples = _number(metrics, "examples")
    if auc is not None:
        lines.append(
            Headline(
                f"Tells a customer who is leaving from one who is staying "
                f"{percent(auc)} of the time (guessing would get 50%).",
                technical("auc", auc),
            )
        )
    if ece is not None:
        lines.append(
            Headline(
                f"When it gives a chance of leaving, that chance is off by about "
                f"{points(ece)} on average.",
                technical("ece", ece),
            )
        )
    if mae is not None:
        lines.append(
            Headline(
                f"A customer's 30-day spend forecast is typically off by {money(mae)}.",
                technical("mae", mae),
            )
        )
    if spearman is not None:
        lines.append(
            Headline(
                f"Puts customers in the order of what they spend {_agreement(spearman)} "
                f"({percent(max(spearman, 0.0))} of a perfect order).",
                technical("spearman", spearman),
            )
        )
    if examples is not None:
        lines.append(
            Headline(
                f"Checked on {plural(examples, 'customer')} it had not seen while learning.",
                technical("examples", examples),
            )
        )
    return lines


def _agreement(rho: float) -> str:
    if rho >= 0.7:
        return "well"
    if rho >= 0.4:
        return "fairly well"
    if rho >= 0.2:
        return "only roughly"
    return "hardly better than chance"


def details(metrics: dict[str, Any]) -> list[dict[str, str]]:
    """Every number of a model for the expander: technical name, value, what it means."""
    rows = []
    for key, value in metrics.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            metric = METRICS.get(key, Metric(key, "", "score"))
            rows.append(
                {
                    "measure": metric.name,
                    "value": metric_value(key, value),
                    "meaning": metric.meaning,
                }
            )
    return rows


def chosen_metric(run: dict[str, Any], name: str, key: str) -> float | None:
    """`key` of the candidate a run chose for model `name` (None when it has none)."""
    part = ((run.get("metrics") or {}).get(name)) or {}
    return _number((part.get("candidates") or {}).get(part.get("chosen")) or {}, key)


# -- the newest run against the model before it ------------------------------------------------


def _figures(name: str, new: float, old: float) -> str:
    if name == "churn":
        return (
            f"it tells leaving from staying customers {percent(new)} of the time, "
            f"against {percent(old)}"
        )
    return f"its forecasts miss by {money(new)} (big misses counting more), against {money(old)}"


def _level(name: str, value: float) -> str:
    if name == "churn":
        return f"tell leaving from staying customers about {percent(value)} of the time"
    return f"miss by about {money(value)} (big misses counting more)"


def comparison(name: str, run: dict[str, Any]) -> Headline | None:
    """Whether the newest model of `name` beat the one before, from a finished run."""
    part = ((run.get("metrics") or {}).get(name)) or {}
    if not part:
        return None
    key, _ = PRIMARY_METRIC.get(name, ("", True))
    chosen = (part.get("candidates") or {}).get(part.get("chosen")) or {}
    new, old = _number(chosen, key), _number(part.get("champion_on_this_window") or {}, key)
    label = f"The newest {name} model (run {run.get('run_id')})"
    if new is None:
        return Headline(f"{label} could not be scored, so the model in use stays.", "")
    why = technical(key, new)
    if old is None:
        verdict = "it is now in use" if part.get("promoted") else "it was not good enough to use"
        return Headline(
            f"{label} is the first one, so there is nothing to compare: {verdict}.", why
        )
    close = abs(new - old) <= 0.005 * max(abs(old), 1e-9)  # the same once rounded for people
    if part.get("promoted"):
        margin = " by a hair" if close else ""
        return Headline(
            f"{label} beat the one before{margin}: {_figures(name, new, old)}. It is now in use.",
            why,
        )
    if close:
        return Headline(
            f"{label} did no better than the one in use: both {_level(name, old)}. "
            "The one in use stays.",
            why,
        )
    return Headline(
        f"{label} did not beat the one in use: {_figures(name, new, old)}. The one in use stays.",
        why,
    )


# -- run history ---------------------------------------------------------------------------------

TRIGGERS = {
    "schedule": "On schedule",
    "manual": "Started by hand",
    "new_data": "New data arrived",
    "drift": "Customers' behaviour changed",
}
TRIGGER_CLAUSES = {
    "schedule": "on the schedule",
    "manual": "when you press Retrain now",
    "new_data": "when enough new orders and visits have come in",
    "drift": "when customers' behaviour has changed a lot since the models learned",
}
STATUSES = {
    "queued": "Waiting to start",
    "running": "Training",
    "succeeded": "Finished",
    "failed": "Failed",
    "skipped": "Skipped",
}


def _words(name: Any) -> str:
    return str(name or "unknown").replace("_", " ").strip().capitalize()


def trigger_words(name: Any) -> str:
    """`manual` -> `Started by hand`; a trigger this dashboard does not know yet reads as words."""
    return TRIGGERS.get(str(name), _words(name))


def trigger_clause(name: Any) -> str:
    """`manual` -> `when you press Retrain now`, to finish "A run also starts ..."."""
    return TRIGGER_CLAUSES.get(str(name), f"when {_words(name).lower()} sets it off")


def status_words(status: Any) -> str:
    return STATUSES.get(str(status), _words(status))


def run_outcome(run: dict[str, Any]) -> str:
    """What one run did for the models in use, in words."""
    status = run.get("status")
    if status in ("queued", "running"):
        return status_words(status) + "…"
    if status != "succeeded":
        return "Nothing changed: " + (run.get("reason") or "no reason was recorded") + "."
    parts = []
    for name in ("churn", "spend"):
        part = ((run.get("metrics") or {}).get(name)) or {}
        if not part:
            continue
        if part.get("promoted"):
            first = not part.get("champion_on_this_window")
            parts.append(f"new {name} model in use" + (" (the first)" if first else ""))
        else:
            parts.append(f"{name} model unchanged (the new one was not better)")
    return (", ".join(parts) or "finished").capitalize() + "."


def run_finished_message(run: dict[str, Any]) -> str:
    """The notice after a run started here ends."""
    run_id, status = run.get("run_id"), run.get("status")
    if status == "succeeded":
        return f"Run {run_id} finished. {run_outcome(run)}"
    if status == "skipped":
        return f"Run {run_id} was skipped: {run.get('reason') or 'no reason was recorded'}."
    return f"Run {run_id} failed: {run.get('reason') or 'no reason was recorded'}."


# -- risk bands and drift ----------------------------------------------------------------------

RISK_WORDS = {"high": "High", "medium": "Medium", "low": "Low"}


def risk_bands(horizon_days: int = 30) -> str:
    """The three risk bands explained, one sentence."""
    return (
        f"The chance of leaving is the chance a customer places no order in the next "
        f"{horizon_days} days. High risk: {percent(HIGH_RISK)} or more; medium: "
        f"{percent(MEDIUM_RISK)} to {percent(HIGH_RISK)}; low: under {percent(MEDIUM_RISK)}."
    )


DRIFT_LEVELS = {"stable": "Steady", "moderate": "Changed somewhat", "significant": "Changed a lot"}
DRIFT_HELP = (
    "PSI (population stability index) compares how a signal is spread over customers today "
    "with how it was spread when the model learned: under 0.1 steady, 0.1 to 0.25 changed "
    "somewhat, over 0.25 changed a lot."
)
_SIGNALS = {
    "recency_days": "days since the last order",
    "frequency": "repeat orders",
    "monetary_total": "total spent",
    "avg_order_value": "average order value",
    "tenure_days": "days since sign-up",
    "cancelled_orders": "orders cancelled",
    "orders": "orders",
    "spend": "spend",
    "login": "sign-ins",
    "product_view": "product views",
    "search": "searches",
    "cart_add": "items added to the cart",
    "cart_remove": "items taken out of the cart",
    "checkout": "checkouts",
    "order_cancel": "order cancellations",
    "support_message": "support messages",
    "cart_abandonment": "abandoned carts",
    "days_since_last_login": "days since the last sign-in",
    "days_since_last_event": "days since the last visit",
}
_EVENTS = {
    "product_view": "Viewed a product",
    "cart_add": "Added to the cart",
    "cart_remove": "Took out of the cart",
    "checkout": "Checked out",
    "login": "Signed in",
    "search": "Searched",
    "support_message": "Wrote to support",
    "order_cancel": "Cancelled an order",
}
_WINDOWED = re.compile(r"^(.+)_(\d+)d$")


def signal_words(feature: str) -> str:
    """`login_30d` -> `sign-ins in the last 30 days`; unknown names read as words."""
    if feature in _SIGNALS:
        return _SIGNALS[feature]
    windowed = _WINDOWED.match(feature)
    if windowed and windowed.group(1) in _SIGNALS:
        return f"{_SIGNALS[windowed.group(1)]} in the last {windowed.group(2)} days"
    return feature.replace("_", " ")


def event_words(event: Any) -> str:
    """`cart_add` -> `Added to the cart`; unknown event names read as words."""
    return _EVENTS.get(str(event), _words(event))


def drift_summary(name: str, features: list[dict[str, Any]]) -> str:
    """One sentence: how many of the model's signals changed since it learned."""
    levels = [str(f.get("level")) for f in features]
    big, some = levels.count("significant"), levels.count("moderate")
    steady = len(levels) - big - some
    text = (
        f"Since the {name} model learned, {count(big)} of {plural(len(levels), 'customer signal')} "
        f"changed a lot, {count(some)} changed somewhat and {count(steady)} stayed steady."
    )
    if big:
        text += (
            " When many signals changed a lot, retrain so the models learn from today's customers."
        )
    return text
