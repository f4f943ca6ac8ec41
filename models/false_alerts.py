"""Where false alerts come from: what each alert on the debris-free validation patrols lies on.

    python -m models.false_alerts                          # the model's point and four below it
    python -m models.false_alerts --thresholds 0.95,0.97 --looks shift,far --out /tmp/fa.json

The false-alert budget (at most 1 per 1,000 debris-free frames on each look) is what holds the
operating threshold up, and with it what holds recall down (MODEL_CARD): to lower the threshold,
something has to stop alerting. Every alert on a debris-free patrol is false; this names what it
lies on from the camera's ground truth: the distractor within ``MATCH_M`` of it (bird, split by
size, boat, glint, reflection, wake) or "unlabelled", nothing the truth names (the bank, trees
overhanging the water, a patch of water), with the class the alert gave. Validation looks only
(``models.build``): the held-out look stays for ``bench/alert_bench.py``. ``models.recall_loss``
is the other half: where the items are lost.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer

from models.build import DEFAULT_OUT, VAL_LOOKS, parse_floats, parse_looks
from models.patrol_eval import MATCH_M

#: Birds under this length (m) are counted apart: the small ones are the birds that get through.
SMALL_BIRD_M = 0.5
#: Thresholds looked at below the model's own (which is always added).
DEFAULT_THRESHOLDS = (0.95, 0.97, 0.98, 0.985)
NOTHING = "unlabelled"


def cause_label(kind: str, size_m: float) -> str:
    """What a false alert lies on, as the table names it: ``bird < 0.5 m``, ``boat``, ..."""
    if kind == "bird":
        return f"bird {'<' if size_m < SMALL_BIRD_M else '>='} {SMALL_BIRD_M:g} m"
    return kind


def alert_causes(
    alerts: list[tuple[float, float, str]], distractor_frames: Iterable[Iterable], match_m: float = MATCH_M
) -> list[str]:
    """What each alert ``(lat, lon, class)`` lies on, in order: the label (``cause_label``) of the
    distractor it is assigned to (``models.patrol_eval.assign_alerts``, closest pairs first; a
    second alert on a distractor is named after it too), else ``unlabelled (class)``.

    ``distractor_frames``: each frame's distractor truth boxes (``item_id``, ``kind``, ``size_m``,
    ``lat``, ``lon``); a drifting distractor is matched at any of the positions it was seen at.
    """
    from models.patrol_eval import assign_alerts

    positions: dict[int, list[tuple[float, float]]] = {}
    label: dict[int, str] = {}
    for frame in distractor_frames:
        for b in frame:
            positions.setdefault(b.item_id, []).append((b.lat, b.lon))
            label[b.item_id] = cause_label(b.kind, b.size_m)
    matched, duplicates, _stray = assign_alerts([(la, lo) for la, lo, _ in alerts], positions, match_m)
    out = []
    for i, (_, _, cls) in enumerate(alerts):
        item = matched.get(i, duplicates.get(i))
        out.append(label[item] if item is not None else f"{NOTHING} ({cls})")
    return out


def column_order(labels: Iterable[str]) -> list[str]:
    """Distractors first (birds small then large, then by name), then unlabelled by class."""
    return sorted(set(labels), key=lambda s: (s.startswith(NOTHING), not s.startswith("bird <"), s))


def main(
    thresholds: Annotated[
        str, typer.Option(help="Thresholds, comma-separated (the model's own is always added).")
    ] = ",".join(f"{t:g}" for t in DEFAULT_THRESHOLDS),
    looks: Annotated[str, typer.Option(help="Validation looks, comma-separated.")] = ",".join(VAL_LOOKS),
    model: Annotated[Path, typer.Option(help="Detector (its verifier from its metadata).")] = DEFAULT_OUT,
    verifier: Annotated[
        Path | None, typer.Option(help="A verifier other than the model's own (at its own point).")
    ] = None,
    detector_weight: Annotated[
        float | None, typer.Option(help="Detector weight in the combined score (default: the verifier's).")
    ] = None,
    per_look: Annotated[
        int | None, typer.Option(help="Only the first N debris-free and littered patrols of each look.")
    ] = None,
    frames: Annotated[int, typer.Option(help="Frames per patrol (the rule flies 150).")] = 150,
    cache: Annotated[bool, typer.Option(help="Keep rendered patrols in data/patrols.")] = True,
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    out: Annotated[Path | None, typer.Option(help="Write the counts here (JSON).")] = None,
) -> None:
    """Name what every false alert on the debris-free validation patrols lies on, per look and threshold."""
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig
    from models.build import ValidationPatrols

    # a wide table: rows are thresholds x looks, columns every cause seen; not cut to 80 in a log
    console = Console(width=None if sys.stdout.isatty() else 160)
    chosen = parse_looks(looks)
    probe = Detector(
        DetectorConfig(
            model_path=model, verifier_path=verifier, threads=threads, score_threshold=0.05, tile="off"
        )
    )
    own = probe.model_threshold  # the verifier's operating point, or the detector's own without one
    grid = sorted({*parse_floats(thresholds), own})
    with console.status(f"flying validation patrols of {', '.join(chosen)}"):
        try:
            patrols = ValidationPatrols(probe, frames, chosen, per_look, cache)
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from exc
    weight = probe.verifier.spec.detector_weight if probe.verifier else None
    if detector_weight is not None:
        patrols.reweigh(detector_weight)
        weight = detector_weight
    record: dict[str, dict] = {}
    for t in grid:
        for look, p in patrols.looks.items():
            causes: Counter[str] = Counter()
            for data, alerts in p.clean_alerts(t, patrols.tracker):
                triples = [(a.lat, a.lon, str(a.debris_class)) for a in alerts]
                causes.update(alert_causes(triples, (distractors for *_, distractors in data)))
            record.setdefault(f"{t:g}", {})[look] = {
                "debris_free_frames": p.clean_frames,
                "false_alerts": sum(causes.values()),
                "causes": dict(causes),
            }
    labels = column_order(c for by_look in record.values() for r in by_look.values() for c in r["causes"])
    table = Table(
        title=f"false alerts on debris-free validation patrols, by what they lie on (within {MATCH_M:g} m)",
        title_justify="left",
        caption="unlabelled: no distractor the ground truth names there (bank, overhanging trees, water)",
        caption_justify="left",
    )
    for col in ("threshold", "look", "frames", "false alerts", *labels):
        table.add_column(col, justify="left" if col == "look" else "right")
    for t, by_look in record.items():
        for look, r in by_look.items():
            cells = [str(r["causes"].get(c, "")) for c in labels]
            mark = " (model's)" if float(t) == own else ""
            table.add_row(f"{t}{mark}", look, str(r["debris_free_frames"]), str(r["false_alerts"]), *cells)
    console.print(table)
    if out is not None:
        summary = {
            "model": str(model),
            "verifier": str(probe.verifier.path) if probe.verifier else None,
            "detector_weight": weight,
            "model_threshold": own,
            "match_m": MATCH_M,
            "by_threshold": record,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"wrote {out}")


if __name__ == "__main__":
    typer.run(main)
