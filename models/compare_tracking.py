"""Compare track-confirmation rules on the validation patrols, on the same detections.

    python -m models.compare_tracking                      # the agent's rule and the card's candidates
    python -m models.compare_tracking --rule "" --rule "threshold=0.95,evidence=18" --out /tmp/t.json

The edge agent alerts on a track once it has ``min_hits`` sightings at or above the per-frame
operating threshold and the median of its last ``score_window`` scores reaches ``confirm_median``
(``edge.tracker.TrackerConfig``). Most missed items are seen in 15 frames or more at 0.9-0.98 and
never reach the threshold three times, so the rules tried here let weaker sightings count: a lower
per-frame ``threshold`` with a high ``confirm_median``, more ``min_hits`` at a lower threshold, or
``evidence``: the log-odds of all the track's scores summed (``EvidenceTracker``), which 15
sightings at 0.95 pass and one glint does not. A rule is ``key=value`` pairs, comma-separated:
``threshold`` (per-frame; without it the grid ``models.build.SYSTEM_THRESHOLDS`` is swept and the
best alert F1 within the budget kept, as ``models.build`` chooses), any numeric ``TrackerConfig``
field, ``evidence`` and ``evidence_ref`` (subtracted from each sighting's log-odds). The shipped
detector and verifier run once over the patrols (``models.build.VAL_LOOKS``) at the verifier's
own detector weight; every rule re-tracks the same detections. Validation patrols only.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, get_type_hints

import typer

from edge.tracker import Tracker, TrackerConfig
from models.build import DEFAULT_OUT, SYSTEM_THRESHOLDS, VAL_LOOKS, parse_looks
from models.compare_verifiers import write_summary

if TYPE_CHECKING:
    from edge.tracker import _Track

app = typer.Typer(add_completion=False)

#: The rules the model card reports (``--rule`` replaces them): the agent's, then the best of each
#: kind found on the validation patrols (EXPERIMENTS.md, "Track confirmation rules").
CARD_RULES = (
    "",
    "threshold=0.97,confirm_median=0.992",
    "min_hits=4",
    "threshold=0.985,min_hits=4",
    "threshold=0.98,min_hits=5",
    "evidence=18",
    "threshold=0.9,evidence=30",
    "threshold=0.95,evidence=18",
    "threshold=0.98,evidence=14",
    "threshold=0.98,evidence=30",
)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1.0 - 1e-6)
    return math.log(p / (1.0 - p))


class EvidenceTracker(Tracker):
    """The agent's tracker confirming on summed evidence instead of the median: a track with
    ``min_hits`` sightings confirms once the log-odds of all its scores, each less ``ref``, sum to
    ``evidence``. Evaluation only: the agent's rule is the median (``TrackerConfig``)."""

    def __init__(self, cfg: TrackerConfig, snapshot=None, *, evidence: float, ref: float = 0.0) -> None:
        super().__init__(cfg, snapshot)
        self.evidence, self.ref = evidence, ref

    def _confirmed(self, tr: _Track) -> bool:
        if tr.hits < self.cfg.min_hits:
            return False
        return sum(_logit(s) - self.ref for s in tr.all_scores) >= self.evidence


_CONFIG_FIELDS = {name: t for name, t in get_type_hints(TrackerConfig).items() if t in (int, float)}


def parse_rule(text: str) -> tuple[float | None, partial]:
    """``"threshold=0.95,min_hits=4"`` -> (per-frame threshold or None to sweep, tracker factory).

    Raises ``ValueError`` naming the pair that is not understood."""
    threshold: float | None = None
    evidence: dict[str, float] = {}
    overrides: dict[str, float | int] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        key = key.strip()
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or math.isnan(number):
            raise ValueError(f"rule {text!r}: {pair!r} is not key=number")
        if key == "threshold":
            if not 0.0 < number < 1.0:
                raise ValueError(f"rule {text!r}: threshold must be in (0, 1), got {number}")
            threshold = number
        elif key in ("evidence", "evidence_ref"):
            evidence[key] = number
        elif key in _CONFIG_FIELDS:
            if _CONFIG_FIELDS[key] is int and not number.is_integer():
                raise ValueError(f"rule {text!r}: {key} takes a whole number, got {value}")
            overrides[key] = int(number) if _CONFIG_FIELDS[key] is int else number
        else:
            known = ", ".join(sorted({"threshold", "evidence", "evidence_ref", *_CONFIG_FIELDS}))
            raise ValueError(f"rule {text!r}: unknown key {key!r}; known: {known}")
    try:
        cfg = replace(TrackerConfig(drone_id="bench"), **overrides)  # its own checks run here
    except ValueError as exc:
        raise ValueError(f"rule {text!r}: {exc}") from exc
    if "evidence" in evidence:
        factory = partial(
            EvidenceTracker, cfg, evidence=evidence["evidence"], ref=evidence.get("evidence_ref", 0.0)
        )
    elif "evidence_ref" in evidence:
        raise ValueError(f"rule {text!r}: evidence_ref needs evidence")
    else:
        factory = partial(Tracker, cfg)
    return threshold, factory


@app.command()
def main(
    rule: Annotated[
        list[str] | None,
        typer.Option(help='A rule, e.g. "threshold=0.95,evidence=18"; "" is the agent\'s. Repeatable.'),
    ] = None,
    detector: Annotated[
        Path, typer.Option(help="Detector (with its verifier) whose detections are tracked.")
    ] = DEFAULT_OUT,
    looks: Annotated[
        str, typer.Option(help="Validation looks, comma-separated (models.build.VAL_LOOKS, EXTRA_LOOKS).")
    ] = ",".join(VAL_LOOKS),
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Write every rule's result here (JSON).")] = None,
) -> None:
    """Each rule's false alerts per look and items alerted, at its fixed or its best threshold."""
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig
    from models.build import validation_patrols
    from models.evaluate import best_threshold, f1_score

    texts = list(CARD_RULES) if rule is None else rule
    try:
        rules = [(text, *parse_rule(text)) for text in texts]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not detector.is_file():
        raise typer.BadParameter(f"no detector at {detector}")
    console = Console()
    started = time.monotonic()
    probe = Detector(DetectorConfig(model_path=detector, threads=threads, score_threshold=0.05, tile="off"))
    chosen = parse_looks(looks)
    try:
        patrols = validation_patrols(probe, console, chosen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    budget = max(1, patrols.frames_per_look // 1000)
    table = Table(title=f"track confirmation on the validation patrols (budget {budget} false alerts a look)")
    table.add_column("rule", no_wrap=True)  # the rule is the row's whole point
    for col in (
        "threshold",
        f"false alerts ({' + '.join(patrols.looks)})",
        "alert F1",
        "items passed",
    ):
        table.add_column(col)
    result = []
    for text, fixed, factory in rules:
        patrols.tracker, patrols.record, patrols.label = factory, {}, ""
        t, f1 = fixed, -1.0
        if t is None:  # the sweep flies every threshold: its best one's F1 is already known
            point = best_threshold(patrols, patrols.frames_per_look, grid=SYSTEM_THRESHOLDS)
            t, f1 = point.threshold, point.f1
        if f1 < 0:  # a fixed threshold, or a sweep with none within the budget (F1 -1)
            f1 = f1_score(*patrols(t)[1:])
        rec = patrols.record[f"{t:.3g}"]
        by_look = [look["false_alerts"] for look in rec["by_look"].values()]
        within = max(by_look) <= budget
        name = text or "(the agent's)"
        table.add_row(
            name,
            f"{t:g}" + ("" if fixed is not None else " (best)"),
            " + ".join(map(str, by_look)) + ("" if within else " (over)"),
            f"{f1:.3f}",
            f"{rec['items_passed_alerted']}/{rec['items_passed_ge_0.3m']}",
        )
        result.append({"rule": text, "threshold": t, "within_budget": within, "f1": round(f1, 4), **rec})
        console.print(f"{name}: {t:g} -> false alerts {by_look}, items {rec['items_passed_alerted']}")
    console.print(table)
    seconds = round(time.monotonic() - started, 1)
    write_summary(out, {"detector": str(detector), "seconds": seconds, "rules": result}, console)


if __name__ == "__main__":
    app()
