"""Champion/challenger: promote only what beats both the baselines and the current champion.

A candidate that ranks customers backwards on the validation window (AUC below 0.5, or a
negative Spearman correlation) is never chosen, whatever its other metrics: that is a bug
in its data or training, not a weak model.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from shop.ml.drift import NO_REFERENCE
from shop.ml.evaluation import PRIMARY_METRIC, better
from shop.ml.training import Candidate

BASELINES = ("bgnbd", "rfm")


#: Each ranking metric's floor: below it a model orders customers worse than chance.
RANKING_FLOORS: dict[str, float] = {"auc": 0.5, "spearman": 0.0}


@dataclass(frozen=True)
class Decision:
    best: Candidate
    promote: bool
    reason: str
    champion_metrics: dict[str, Any] | None = None
    #: Candidates left out because they rank backwards, with why.
    rejected: dict[str, str] = field(default_factory=dict)


def ranks_backwards(metrics: dict[str, Any]) -> str | None:
    """Why these validation metrics disqualify a model, or None if they do not."""
    for metric, floor in RANKING_FLOORS.items():
        value = metrics.get(metric)
        if value is not None and value < floor:
            return (
                f"{metric} {value:.4f} is below {floor:g}: it ranks customers backwards "
                "(never promoted)"
            )
    return None


#: (version, its metrics on this run's window) of the current champion; metrics None for a
#: champion that cannot stay (it has no drift reference, so drift could never be judged).
Champion = tuple[str, dict[str, Any] | None]


def decide(name: str, candidates: list[Candidate], champion: Champion | None) -> Decision:
    """`choose`, with the candidates that rank backwards left out and named in the reason."""
    rejected = {c.kind: why for c in candidates if (why := ranks_backwards(c.metrics))}
    eligible = [c for c in candidates if c.kind not in rejected]
    if not eligible:
        shown = "; ".join(f"{kind}: {why}" for kind, why in rejected.items())
        return Decision(
            candidates[0], False, f"no candidate can be promoted ({shown})", None, rejected
        )
    decision = choose(name, eligible, champion)
    if not rejected:
        return decision
    shown = "; ".join(f"{kind} left out: {why}" for kind, why in rejected.items())
    return replace(decision, reason=f"{decision.reason}; {shown}", rejected=rejected)


def choose(name: str, candidates: list[Candidate], champion: Champion | None) -> Decision:
    """The run's best candidate on the validation window, and whether it replaces the champion.

    A baseline may be the best candidate (and so the champion): on sparse purchase histories
    BG/NBD is hard to beat. The best always beats the best baseline or is that baseline.
    """
    metric, higher = PRIMARY_METRIC[name]
    scored = [c for c in candidates if c.score is not None]
    if not scored:
        return Decision(candidates[0], False, f"no candidate has a {metric} on this window")
    best = max(scored, key=lambda c: (c.score or 0.0) if higher else -(c.score or 0.0))
    baselines = [c for c in scored if c.kind in BASELINES and c is not best]
    if best.kind not in BASELINES and not all(
        better(name, best.metrics, b.metrics) for b in baselines
    ):
        return Decision(best, False, f"{best.kind} only ties the baselines on {metric}")
    here = f"{best.kind} {metric}={best.score:.4f}"
    if champion is None:
        return Decision(best, True, f"{here}; first champion")
    version, metrics = champion
    if metrics is None:
        return Decision(best, True, f"{here}; replaces champion {version}, {NO_REFERENCE}")
    old = metrics.get(metric)
    shown = "n/a" if old is None else f"{old:.4f}"
    if better(name, best.metrics, metrics):
        return Decision(best, True, f"{here} beats champion {version} ({shown})", metrics)
    return Decision(best, False, f"{here} does not beat champion {version} ({shown})", metrics)
