"""Compare verifiers on the validation patrols, each at its own best operating point, in one run.

    python -m models.compare_verifiers models/riverpatrol_verifier.onnx /tmp/other.onnx
    python -m models.compare_verifiers A.onnx B.onnx --weights 0.02,0.01 --out /tmp/cmp.json
    python -m models.compare_verifiers models/riverpatrol_verifier.onnx v7.pt   # saved weights too
    python -m models.compare_verifiers models/riverpatrol_verifier.onnx v16.pt --fuse 0.5  # and together

The detector runs once per frame and every verifier looks at exactly the same candidates
(``PatrolSet.look_again_with``), so the difference between two rows is the verifiers' alone. Each
is scored as ``models.build`` chooses an operating point: per detector weight, the best alert F1
with at most 1 false alert per 1,000 debris-free frames on each look. Validation patrols only
(``models.build.VAL_LOOKS``): the held-out look stays for ``bench/alert_bench.py``. ``--fuse a``
adds a row for the first two verifiers together (``models.patrol_eval.fused_look``), decided at
the first one's class weights; the runtime runs one verifier, so such a row is a question, not
something the edge agent can ship yet.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Annotated

import typer

from models.build import DEFAULT_OUT, SYSTEM_THRESHOLDS, SYSTEM_WEIGHTS, VAL_LOOKS, parse_floats, parse_looks

app = typer.Typer(add_completion=False)


def write_summary(out: Path | None, summary: dict, console) -> None:
    """Write a comparison's ``summary`` as JSON to ``out`` (nothing when None) and say so."""
    if out is None:
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2) + "\n")
    console.print(f"wrote {out}")


def exported(weights: Path, folder: Path) -> Path:
    """A verifier ONNX in ``folder`` from weights saved by ``python -m models.verifier --save-weights``
    (the comparison sweeps the operating point, so the one written here does not matter)."""
    from contract.messages import DEBRIS_CLASSES
    from models.build import VERSION, load_verifier_weights, trained_geometry
    from models.verifier import MineConfig, export_verifier

    nets, summary = load_verifier_weights(weights)
    out = folder / f"{weights.stem}.onnx"
    return export_verifier(
        nets, out, DEBRIS_CLASSES, trained_geometry(summary), MineConfig().proposal_threshold, 0.5, VERSION
    )


def score_row(name: str, patrols, tried, grid, table, console) -> dict:
    """One verifier's best point per detector weight on ``patrols`` (a row of ``table`` each) and
    the record of every threshold tried."""
    from models.evaluate import best_threshold

    per_weight = {}
    for w in tried:
        patrols.reweigh(w)
        patrols.label = f"w={w:.2f} "
        point = best_threshold(patrols, patrols.frames_per_look, grid=grid)
        rec = patrols.record.get(f"w={w:.2f} {point.threshold:.3g}", {})
        alerted = f"{rec.get('items_passed_alerted', 0)}/{rec.get('items_passed_ge_0.3m', 0)}"
        table.add_row(
            name,
            f"{w:g}",
            f"{point.threshold:g}",
            " + ".join(str(look["false_alerts"]) for look in rec.get("by_look", {}).values()),
            f"{point.f1:.3f}",
            alerted,
        )
        per_weight[f"{w:g}"] = {
            "threshold": point.threshold,
            "f1": point.f1,
            "false_alerts": point.false_alerts,
        }
        console.print(f"{name}: w {w:g} -> threshold {point.threshold:g}, F1 {point.f1:.3f}, items {alerted}")
    return {"best_by_weight": per_weight, "by_threshold": patrols.record}


@app.command()
def main(
    verifiers: Annotated[
        list[Path],
        typer.Argument(help="Verifier ONNX files or --save-weights files (.pt), compared in this order."),
    ],
    detector: Annotated[Path, typer.Option(help="Detector whose candidates they verify.")] = DEFAULT_OUT,
    weights: Annotated[str, typer.Option(help="Detector weights tried, comma-separated.")] = ",".join(
        f"{w:g}" for w in SYSTEM_WEIGHTS
    ),
    thresholds: Annotated[str, typer.Option(help="Thresholds tried, comma-separated.")] = ",".join(
        f"{t:g}" for t in SYSTEM_THRESHOLDS
    ),
    looks: Annotated[
        str, typer.Option(help="Validation looks, comma-separated (models.build.VAL_LOOKS, EXTRA_LOOKS).")
    ] = ",".join(VAL_LOOKS),
    threads: Annotated[int, typer.Option(help="onnxruntime threads.")] = 2,
    fuse: Annotated[
        str,
        typer.Option(
            help="Also the first two verifiers fused, p1^a x p2^(1-a), for each a given (comma-separated)."
        ),
    ] = "",
    out: Annotated[Path | None, typer.Option(help="Write every verifier's table here (JSON).")] = None,
) -> None:
    """Best operating point of each verifier on the same validation candidates, and its whole table."""
    from rich.console import Console
    from rich.table import Table

    from edge.detect import Detector, DetectorConfig
    from models.build import validation_patrols

    for path in verifiers:
        if not path.is_file():
            raise typer.BadParameter(f"no verifier at {path}")
    grid, tried = parse_floats(thresholds), parse_floats(weights, "--weights")  # before hours of work
    fusions = parse_floats(fuse, "--fuse") if fuse.strip() else ()
    if fusions and len(verifiers) < 2:
        raise typer.BadParameter("--fuse fuses the first two verifiers: give two")
    console = Console()
    scratch = tempfile.TemporaryDirectory(prefix="riverpatrol-compare-")  # removed however the run ends
    verifiers = [exported(p, Path(scratch.name)) if p.suffix == ".pt" else p for p in verifiers]

    def probe(path: Path) -> Detector:
        return Detector(
            DetectorConfig(
                model_path=detector, verifier_path=path, threads=threads, score_threshold=0.05, tile="off"
            )
        )

    started = time.monotonic()
    chosen = parse_looks(looks)
    first = probe(verifiers[0])  # its operating point and class weights decide the --fuse rows
    try:
        patrols = validation_patrols(first, console, chosen)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    result: dict[str, dict] = {}
    table = Table(
        title=f"verifiers on the validation patrols ({patrols.frames_per_look} debris-free frames a look)"
    )
    table.add_column("verifier", no_wrap=True)  # the file name: the row's whole point
    for col in (
        "detector weight",
        "threshold",
        f"false alerts ({' + '.join(patrols.looks)})",
        "alert F1",
        "items passed alerted",
    ):
        table.add_column(col)
    looked = []  # the first two verifiers' looks, for --fuse
    for k, path in enumerate(verifiers):
        if k:
            with console.status(f"second look with {path.name}"):
                patrols.look_again_with(probe(path))
        if k < 2 and fusions:
            looked.append(patrols.candidates())
        result[str(path)] = score_row(path.name, patrols, tried, grid, table, console)
    for a in fusions:
        name = f"{verifiers[0].name}^{a:g} x {verifiers[1].name}^{1 - a:g}"
        patrols.fuse(first, looked[0], looked[1], a)
        result[name] = score_row(name, patrols, tried, grid, table, console)
    console.print(table)
    seconds = round(time.monotonic() - started, 1)
    write_summary(out, {"detector": str(detector), "seconds": seconds, "verifiers": result}, console)


if __name__ == "__main__":
    app()
