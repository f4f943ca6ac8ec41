"""Rebuild the shipped detector from scratch, reproducibly: data -> train -> export -> threshold -> scores.

    python -m models.build                 # defaults: the shipped model (a GPU is used if present)
    python -m models.build --smoke          # every stage end to end at toy sizes, into a scratch folder

    # the shipped model was built in two halves, training on a GPU machine and scoring here:
    python -m models.build --train-only --save-weights w.pt --workers 15 --loader-workers 14
    python -m models.build --weights w.pt  # export, threshold on val, held-out scores, card

Everything is seeded (data splits, crops, weights). The operating threshold is chosen on the
validation splits (training look), never on the held-out ones; the held-out figures written to
``models/riverpatrol_debris.card.json`` are the same code path as ``bench/detector_bench.py``.
"""

from __future__ import annotations

import json
import logging
import math
import platform
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from contract.messages import DEBRIS_CLASSES

if TYPE_CHECKING:
    from edge.detect.verify import CropGeometry
    from models.verifier import VerifierTrainConfig

MODEL_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = MODEL_DIR / "riverpatrol_debris.onnx"
DEFAULT_DATA = MODEL_DIR.parent / "data" / "riverpatrol_debris"
INPUT_HW = (544, 960)
NATIVE_HW = (1080, 1920)
VERSION = "2.0.0"
#: Height the validation patrols fly (training spans 20-45 m): under the default camera it sets the
#: ground scale the detector is recorded as trained at (``model_gsd_m``, metadata gsd_m).
PATROL_ALT_M = 30.0
TRAIN_STEPS = 16100  # the shipped weights saw 5,534 + 10,567 steps (two GPU sessions, MODEL_CARD.md)
VERIFIER_NAME = "riverpatrol_verifier.onnx"  # beside the detector, named in its metadata
VERIFIER_STEPS = 20000
# Verifier nets trained on the same mined crops with training seeds seed, seed + 1, ... and averaged
# in one ONNX file (models.verifier.average_verifiers). The shipped verifier is one net: a 2-net
# ensemble was better on the validation patrols and not on the held-out look (EXPERIMENTS.md)
VERIFIER_MEMBERS = 1
# Wave and sun jitter of the verifier's training crops (models.verifier.look_jitter)
VERIFIER_LOOK_JITTER = False
# The verifier sees each crop relative to the water around it (models.verifier.build_net). Off: v8,
# trained so, won on the validation looks and broke the false-alert target on held-out (EXPERIMENTS.md)
VERIFIER_WATER_NORM = False
# Frames of an extra verifier training split of many short scenes (models.dataset.scene_variety_split).
# 0, as shipped: v9, trained with 1,200 (300 more worlds), tied v5 on the validation patrols (EXPERIMENTS.md)
VERIFIER_SCENE_FRAMES = 0
# Each verifier batch's positives drawn class-balanced (models.verifier.positive_weights), not in
# proportion to the mined crops: bottles, the smallest and the most doubted, come up as often as bags
VERIFIER_BALANCE_CLASSES = False
# Frames of generic non-river images (models.outliers: dead leaves, fractal noise) whose candidates
# join the verifier's negatives (outlier exposure). 0 as shipped
VERIFIER_OUTLIER_FRAMES = 0
# A pointwise conv after each of the verifier's depthwise ones (models.verifier.build_net). Off as shipped
VERIFIER_MIX = False
# The verifier also learns what each negative shows (water, bird, boat, glint, ...; trained only,
# not exported: models.verifier.build_net). Off as shipped
VERIFIER_NEGATIVE_KINDS = False
# Focal loss on the verifier's p(debris) with this gamma (models.verifier.focal_bce); 0, plain BCE, as shipped
VERIFIER_FOCAL_GAMMA = 0.0
# Operating points tried for detector + verifier: score s**w * p**(1-w) (edge.detect.verify.combine)
# (0.5 and 0.25, tried up to v5, never came near: the full-resolution look is the sharper judge)
SYSTEM_WEIGHTS = (0.1, 0.05, 0.02, 0.01, 0.0)
# 0.50 .. 0.95, then finer: the smaller w, the nearer 1 the useful thresholds (the verifier's p of
# an item it is sure of is 0.999+, and a weak detector score s costs only s**w of it)
SYSTEM_THRESHOLDS = (
    *(round(0.5 + 0.05 * k, 2) for k in range(10)),
    *(0.96, 0.97, 0.975, 0.98, 0.985, 0.99, 0.992, 0.994, 0.996, 0.998, 0.999),
)


@dataclass(frozen=True)
class BuildScale:
    """How much each stage of the build sees. ``FULL`` is the shipped build; ``SMOKE`` runs every
    stage end to end (render, train, export, both operating points, the class prior, held-out
    scores, the card) in a few minutes at toy sizes: a check of the command on this machine, not a
    model (its figures mean nothing)."""

    name: str
    steps: int  # detector training steps
    batch: int  # detector crops per step
    verifier_steps: int
    verifier_batch: int
    splits: dict[str, int] = field(default_factory=dict)  # frames per split (default_splits' keywords)
    patrols_per_look: int | None = None  # debris-free and littered validation patrols per look; None: all
    patrol_frames: int = 150
    class_frames: int | None = None  # frames per look for the class prior; None: CLASS_LOOKS' own
    cache_patrols: bool = True  # keep rendered validation patrols in data/patrols/


FULL = BuildScale("full", TRAIN_STEPS, 64, VERIFIER_STEPS, 128)
SMOKE = BuildScale(
    "smoke",
    steps=30,
    batch=8,
    verifier_steps=60,
    verifier_batch=32,
    splits={
        "train": 16,
        "val": 6,
        "val_negative": 6,
        "heldout": 6,
        "negative": 6,
        "train_negative": 6,
        "train_birds": 6,
    },
    patrols_per_look=1,
    patrol_frames=6,
    class_frames=6,
    cache_patrols=False,
)


log = logging.getLogger("riverpatrol.models.build")
app = typer.Typer(add_completion=False)


@app.command()
def main(
    data: Annotated[
        Path | None,
        typer.Option(
            help="Data set folder, rendered if missing "
            "(default data/riverpatrol_debris/; --smoke: a scratch folder)."
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="ONNX file to write (default models/riverpatrol_debris.onnx; --smoke: a scratch folder)."
        ),
    ] = None,
    smoke: Annotated[
        bool,
        typer.Option(
            help="Run every stage end to end at toy sizes (a few minutes): checks the command, builds no "
            "usable model. Its sizes replace --steps, --batch, --train-frames and --verifier-steps."
        ),
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of data splits and training.")] = 7,
    steps: Annotated[int, typer.Option(help="Training steps.")] = TRAIN_STEPS,
    batch: Annotated[int, typer.Option(help="Crops per step.")] = 64,
    crop: Annotated[int, typer.Option(help="Crop side at model scale, px.")] = 256,
    train_frames: Annotated[int, typer.Option(help="Frames in the training split.")] = 1500,
    threads: Annotated[int, typer.Option(help="Torch / onnxruntime threads.")] = 2,
    workers: Annotated[int, typer.Option(help="Render processes for the data set.")] = 2,
    loader_workers: Annotated[int, typer.Option(help="Crop-making processes while training.")] = 0,
    time_budget: Annotated[
        float | None, typer.Option(help="Fit the steps into this many seconds (the card records how many).")
    ] = None,
    train_only: Annotated[
        bool, typer.Option(help="Stop after training; render only the train split.")
    ] = False,
    save_weights: Annotated[Path | None, typer.Option(help="Save the trained state dict here.")] = None,
    weights: Annotated[Path | None, typer.Option(help="Skip training: load this state dict.")] = None,
    init_weights: Annotated[
        Path | None,
        typer.Option(
            help="Start training from this state dict, or a RiverNet .onnx such as the shipped model "
            "(BatchNorm statistics then frozen), instead of random."
        ),
    ] = None,
    lr: Annotated[float, typer.Option(help="Peak learning rate (AdamW, cosine).")] = 3e-3,
    verifier: Annotated[
        bool, typer.Option(help="Then train the second-look verifier (models.verifier) on CPU.")
    ] = True,
    verifier_steps: Annotated[int, typer.Option(help="Verifier training steps.")] = VERIFIER_STEPS,
    verifier_members: Annotated[
        int, typer.Option(help="Verifier nets trained (seeds seed, seed + 1, ...) and averaged.")
    ] = VERIFIER_MEMBERS,
) -> None:
    """Render data, train RiverNet, export ONNX with metadata, pick the threshold, score held-out."""
    from rich.console import Console

    from edge.detect import Detector, DetectorConfig
    from models.dataset import default_splits, generate
    from models.evaluate import best_threshold
    from models.export import export_onnx
    from models.network import RiverNet
    from models.score import negative_scores, score_positive, summarize
    from models.train import TrainConfig
    from models.yolo_io import read_split

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    console = Console()
    started = time.monotonic()
    if smoke:
        scale = SMOKE
        data, out = smoke_paths(data, out)
        console.print(f"smoke build: toy sizes, every stage; writes {out} and its data to {data}")
    else:
        scale = replace(
            FULL, steps=steps, batch=batch, verifier_steps=verifier_steps, splits={"train": train_frames}
        )
        data, out = data or DEFAULT_DATA, out or DEFAULT_OUT
    specs = default_splits(seed, **scale.splits)
    if train_only:
        specs = [s for s in specs if s.name == "train"]
    elif weights is not None:
        specs = [s for s in specs if s.name != "train"]
    summaries = generate(data, specs, workers)
    splits = {name: read_split(data, name) for name in summaries}

    cfg = TrainConfig(
        steps=scale.steps,
        batch=scale.batch,
        crop=crop,
        seed=seed,
        threads=threads,
        loader_workers=loader_workers,
        lr=lr,
        time_budget_s=None if time_budget is None else time_budget - (time.monotonic() - started) - 90,
    )
    if weights is not None:
        saved = torch_load(weights)
        net = RiverNet(len(DEBRIS_CLASSES), **saved["config"])
        net.load_state_dict(saved["state_dict"])
        net.eval()
        train_info, cfg_dict = saved["train"], saved["train_config"]
    else:
        init = None
        if init_weights is not None and init_weights.suffix == ".onnx":
            from models.onnx_import import init_from_onnx

            init = init_from_onnx(init_weights)  # the BatchNorm folded at export: keep it frozen
            cfg = replace(cfg, freeze_bn=True)
        elif init_weights is not None:
            init = torch_load(init_weights)
        net, train_info = _train(console, splits["train"], cfg, init)
        if init is not None:
            train_info = {"init_from": init["train"], **train_info}
        cfg_dict = asdict(cfg)
        if save_weights is not None:
            torch_save(
                {
                    "config": net.config,
                    "state_dict": net.state_dict(),
                    "train": train_info,
                    "train_config": cfg_dict,
                },
                save_weights,
            )
            console.print(f"saved weights to {save_weights}")
    if train_only:
        exported_path = export_onnx(
            net,
            out,
            DEBRIS_CLASSES,
            INPUT_HW,
            NATIVE_HW,
            0.5,
            VERSION,
            extra={"train_seed": seed},
            gsd_m=model_gsd_m(),
        )
        console.print(
            f"trained {train_info['steps_done']} steps in {train_info['seconds']} s -> {exported_path}"
        )
        return
    steps = train_info["steps_done"]

    def exported(threshold: float) -> Path:
        return export_onnx(
            net,
            out,
            DEBRIS_CLASSES,
            INPUT_HW,
            NATIVE_HW,
            threshold,
            VERSION,
            extra={
                "train_seed": seed,
                "train_steps": steps,
                "data": "synthetic sim.camera, see MODEL_CARD.md",
            },
            gsd_m=model_gsd_m(),
        )

    exported(0.5)
    probe = Detector(DetectorConfig(model_path=out, threads=threads, score_threshold=0.05, tile="off"))
    val = score_positive(probe, splits["val"])
    val_neg = negative_scores(probe, splits["val_negative"])
    # the threshold is chosen on alerts (see best_threshold)
    patrols = validation_patrols(probe, console, scale=scale)
    threshold = best_threshold(patrols, patrols.frames_per_look).threshold
    exported(threshold)
    val_summary = summarize(val, val_neg, len(splits["val_negative"]), threshold, DEBRIS_CLASSES)
    held = score_positive(probe, splits["heldout"])
    held_neg = negative_scores(probe, splits["heldout_negative"])
    held_summary = summarize(held, held_neg, len(splits["heldout_negative"]), threshold, DEBRIS_CLASSES)
    card = {
        "model": out.name,
        "version": VERSION,
        "size_bytes": out.stat().st_size,
        "input_size": INPUT_HW,
        "native_frame_size": NATIVE_HW,
        "threshold": threshold,
        "train": {**cfg_dict, **train_info},
        "data": {
            k: {"frames": v["frames"], "items": v["items"], "scenes": v["scenes"]}
            for k, v in summaries.items()
        },
        "val": {**val_summary, "patrols": patrols.card()},
        "heldout": held_summary,
        "build_seconds": round(time.monotonic() - started, 1),
        "build_scale": scale.name,
        "machine": {"platform": platform.platform(), "processor": platform.processor(), "threads": threads},
    }
    card_path = out.with_suffix(".card.json")
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    console.print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB), threshold {threshold:.2f}; "
        f"held-out >=0.3 m: P {held_summary['precision_ge_0.3m']} R {held_summary['recall_ge_0.3m']} "
        f"mAP50 {held_summary['map50_ge_0.3m']}; "
        f"per-frame false detections {held_summary['false_detections']}"
        f"/{held_summary['negative_frames']} frames; card figures in {card_path}"
    )
    if verifier:
        finish_with_verifier(
            console,
            data,
            out,
            out.with_name(VERIFIER_NAME),
            seed,
            threads,
            workers,
            scale.verifier_steps,
            members=verifier_members,
            scale=scale,
        )


def finish_with_verifier(
    console,
    data: Path,
    detector: Path,
    out: Path,
    seed: int,
    threads: int,
    workers: int,
    steps: int = VERIFIER_STEPS,
    frames: int = 0,
    link: bool = True,
    train_only: bool = False,
    save_weights: Path | None = None,
    weights: Path | None = None,
    keep_weights: bool = False,
    members: int = VERIFIER_MEMBERS,
    scene_frames: int = VERIFIER_SCENE_FRAMES,
    outlier_frames: int = VERIFIER_OUTLIER_FRAMES,
    recipe: VerifierTrainConfig | None = None,
    scale: BuildScale = FULL,
    geometry: CropGeometry | None = None,
) -> None:
    """Second stage of the build: train the verifier on the detector's candidates in the training
    split, pick the operating threshold of both together on the validation patrols, score held-out,
    and add it all to the detector's card (``"system"``: detector + verifier, as the edge runs them).

    ``keep_weights``: the verifier ONNX at ``out`` keeps its weights and only its operating point
    (metadata ``score_threshold``, ``detector_weight``) is chosen again, with its build summary
    carried over from the card; no torch needed. ``members``: nets trained and averaged (an
    ensemble); ``save_weights`` / ``weights`` hold all of them. ``recipe``: the verifier's training
    options (``VerifierTrainConfig``; the shipped ones if None), whose steps, batch, seed and threads
    this sets. ``scale``: the splits, patrols and class-prior frames (``steps`` is the verifier's
    training steps whatever the scale). ``geometry``: how the verifier's windows are cut (None: the
    shipped ``CropGeometry()``; weights loaded with ``weights`` keep the geometry they were trained with).
    """
    from contract.messages import DEBRIS_CLASSES
    from edge.detect import Detector, DetectorConfig
    from edge.detect.verify import CropGeometry
    from models.class_weights import choose_class_weights
    from models.dataset import default_splits, generate, scene_variety_split
    from models.evaluate import best_threshold
    from models.export import set_metadata
    from models.outliers import generate_outliers
    from models.score import negative_scores, score_positive, summarize
    from models.verifier import (
        MineConfig,
        VerifierTrainConfig,
        build_verifier,
        export_verifier,
    )
    from models.yolo_io import read_split

    started = time.monotonic()
    specs = default_splits(seed, **scale.splits)
    if keep_weights and (train_only or weights is not None):
        raise typer.BadParameter("keep_weights re-chooses a built verifier's operating point: no training")
    if keep_weights and not out.is_file():
        raise typer.BadParameter(f"keep_weights: no verifier at {out} to keep")
    if scene_frames > 0 and weights is None and not keep_weights:
        specs.append(scene_variety_split(seed, scene_frames))
    if train_only:
        specs = [s for s in specs if s.name.startswith("train")]
    elif weights is not None or keep_weights:
        specs = [s for s in specs if not s.name.startswith("train")]
    summaries = generate(data, specs, workers)
    splits = {name: read_split(data, name) for name in summaries}
    geometry, mine_cfg = geometry or CropGeometry(), MineConfig(seed=seed)
    beside = out.resolve().parent == detector.resolve().parent
    card_path = detector.with_suffix(".card.json") if beside else out.with_suffix(".card.json")
    if keep_weights:
        nets = None
        old_card = json.loads(card_path.read_text()) if card_path.is_file() else {}
        summary = old_card.get("system", {}).get("verifier_build", {"note": f"weights of {out.name} kept"})
    elif weights is not None:
        nets, summary = load_verifier_weights(weights)
        geometry = trained_geometry(summary)
    else:
        train_samples = splits["train"][:frames] if frames else splits["train"]
        for negative in ("train_negative", "train_birds"):  # debris-free: hard negatives only
            train_samples += splits[negative][: frames // 2 if frames else None]
        train_samples += splits.get("train_scenes", [])
        if outlier_frames > 0:  # no river at all: every candidate on them is a negative
            generate_outliers(data, "train_outliers", outlier_frames, seed, workers)
            train_samples += read_split(data, "train_outliers")
        train_cfg = replace(
            recipe or VerifierTrainConfig(),
            steps=steps,
            batch=scale.verifier_batch,
            seed=seed,
            threads=threads,
        )
        nets, summary = build_verifier(
            detector, train_samples, mine_cfg, train_cfg, geometry, console, threads, members
        )
        if save_weights is not None:
            save_verifier_weights(nets, summary, save_weights)
            console.print(f"saved verifier weights to {save_weights}")
    if train_only:
        return

    # Trial operating points are written to a scratch copy: a run stopped half-way must not leave
    # the verifier at --out (the shipped one, by default) at a trial's threshold and weight.
    # A TemporaryDirectory object removes itself when the run ends, however it ends (its finalizer).
    scratch_dir = tempfile.TemporaryDirectory(prefix="riverpatrol-verifier-")
    scratch = Path(scratch_dir.name) / out.name
    if nets is None:
        shutil.copyfile(out, scratch)

    def probe_on(path: Path) -> Detector:
        """The detector with the verifier at ``path``, at a low threshold that traces the curves."""
        return Detector(
            DetectorConfig(
                model_path=detector, verifier_path=path, threads=threads, score_threshold=0.05, tile="off"
            )
        )

    def exported(threshold: float, weight: float, path: Path = scratch) -> Detector:
        """The verifier with this operating point written to ``path``; a probe detector using it."""
        if nets is None:  # keep_weights: only the operating point changes
            if path != scratch:
                shutil.copyfile(scratch, path)
            set_metadata(path, score_threshold=f"{threshold:.4f}", detector_weight=f"{weight:.4f}")
        else:
            export_verifier(
                nets,
                path,
                DEBRIS_CLASSES,
                geometry,
                mine_cfg.proposal_threshold,
                threshold,
                VERSION,
                extra={"train_seed": seed, "detector": detector.name},
                detector_weight=weight,
            )
        return probe_on(path)

    # The operating point - the detector's weight in the combined score and the threshold - is
    # chosen together on the validation patrols' alerts (rendered and detected once, re-combined per weight).
    patrols = validation_patrols(exported(0.5, SYSTEM_WEIGHTS[0]), console, scale=scale)
    weight, best = 0.5, None
    for w in SYSTEM_WEIGHTS:
        patrols.reweigh(w)  # the same candidates, combined with this weight
        patrols.label = f"w={w:.2f} "
        point = best_threshold(patrols, patrols.frames_per_look, grid=SYSTEM_THRESHOLDS)
        if point.f1 < 0:
            console.print(
                f"detector weight {w:.2f}: no threshold keeps within the false-alert budget at alert "
                f"precision >= 0.9 (taking the top of the grid, {point.threshold:.3f})"
            )
        else:
            console.print(
                f"detector weight {w:.2f}: best threshold {point.threshold:.3f}, alert F1 {point.f1:.3f}, "
                f"{point.false_alerts} false alerts on its worst look"
            )
        if best is None or point.better_than(best):
            weight, best = w, point
    assert best is not None
    threshold = best.threshold
    probe = exported(threshold, weight, out)
    scratch_dir.cleanup()
    # The class prior (models.class_weights) is chosen at that point; it renames, never rescores.
    class_weights, class_record = choose_class_weights(probe, data, console, workers, scale.class_frames)
    set_metadata(out, class_weights=json.dumps(list(class_weights)))
    probe = probe_on(out)
    if link and out.resolve().parent == detector.resolve().parent:
        set_metadata(detector, verifier=out.name)
    val = score_positive(probe, splits["val"])
    val_neg = negative_scores(probe, splits["val_negative"])
    held = score_positive(probe, splits["heldout"])
    held_neg = negative_scores(probe, splits["heldout_negative"])
    n_val_neg, n_held_neg = len(splits["val_negative"]), len(splits["heldout_negative"])
    held_summary = summarize(held, held_neg, n_held_neg, threshold, DEBRIS_CLASSES)
    # Beside its detector the verifier's figures join the detector's card; elsewhere (a trial run
    # with --out) they get a card of their own, so the shipped card is never overwritten by it.
    card = json.loads(card_path.read_text()) if beside and card_path.is_file() else {}
    card["system"] = {
        "what": "detector + verifier, as the edge agent runs them (DetectorConfig.verifier='auto')",
        "verifier": out.name,
        "verifier_size_bytes": out.stat().st_size,
        "threshold": threshold,
        "detector_weight": weight,
        "class_weights": class_record,
        "verifier_build": summary,
        "val": {**summarize(val, val_neg, n_val_neg, threshold, DEBRIS_CLASSES), "patrols": patrols.card()},
        "heldout": held_summary,
        "build_seconds": round(time.monotonic() - started, 1),
        "build_scale": scale.name,
    }
    card_path.write_text(json.dumps(card, indent=2) + "\n")
    console.print(
        f"wrote {out} ({out.stat().st_size / 1e3:.0f} kB), system threshold {threshold:.3f} "
        f"(detector weight {weight:.2f}); "
        f"held-out >=0.3 m: P {held_summary['precision_ge_0.3m']} R {held_summary['recall_ge_0.3m']} "
        f"mAP50 {held_summary['map50_ge_0.3m']}; per-frame false detections "
        f"{held_summary['false_detections']}/{held_summary['negative_frames']} frames; card {card_path}"
    )


def model_gsd_m() -> float:
    """Metres per pixel of a native frame at the water the model is trained around: ``PATROL_ALT_M``
    under the default camera (1920 px, 73 deg HFOV). The runtime runs frames of other ground scales
    at it (``edge.detect.Detector.detect(gsd_m=)``)."""
    from contract.camera import CameraModel

    return PATROL_ALT_M / CameraModel.default().fx


#: Validation patrols the operating point is chosen on, per look: (debris-free seeds, littered
#: seeds); seeds used nowhere else. The "shift" look's water is neither trained on nor held out:
#: a point that only holds on the training water is caught before the held-out look is scored.
#: The "far" look is that water under sun and waves beyond both the training and the held-out
#: ranges: unfamiliar in colour, light and wave scale at once, as the held-out look is, and the
#: only look whose false alerts and recall followed the held-out look's (EXPERIMENTS.md).
#: 16 debris-free patrols a look (2,400 frames each): the budget is a rate of one per 1,000
#: frames, and 1,200 frames could not tell 2 false alerts from 4.
VAL_LOOKS: dict[str, tuple[list[int], list[int]]] = {
    "train": ([8100 + k for k in range(16)], [8200 + k for k in range(8)]),
    "shift": ([8400 + k for k in range(16)], [8300 + k for k in range(8)]),
    "far": ([8800 + k for k in range(16)], [8700 + k for k in range(8)]),
}
#: Looks flown only when asked (``python -m models.compare_verifiers --looks``), not part of the
#: operating-point rule: "extreme" is the training water under sun and waves beyond both the
#: training and the held-out ranges (``sim.camera.appearance``): sun and waves alone did not
#: find the held-out look's false alerts.
EXTRA_LOOKS: dict[str, tuple[list[int], list[int]]] = {
    "extreme": ([8600 + k for k in range(16)], [8500 + k for k in range(8)]),
}


def parse_looks(text: str) -> tuple[str, ...]:
    """Look names from a comma-separated ``--looks`` option; ``ValidationPatrols`` says which are unknown."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


def parse_floats(text: str, option: str = "--thresholds") -> tuple[float, ...]:
    """Numbers in [0, 1] from a comma-separated ``option`` (``--thresholds``, ``--weights``), blanks
    skipped. Anything else is a ``typer.BadParameter`` that names the word and the option, so a typo
    stops the command before it renders anything, not after."""
    numbers = []
    for word in parse_looks(text):
        try:
            x = float(word)
        except ValueError:
            x = math.nan
        if not 0.0 <= x <= 1.0:  # nan fails too
            raise typer.BadParameter(f"{option}: {word!r} is not a number from 0 to 1 (in {text!r})")
        numbers.append(x)
    if not numbers:
        raise typer.BadParameter(f"{option}: no numbers in {text!r}")
    return tuple(numbers)


VAL_PATROLS = (
    "three looks: training water; 'shift' water (colour families neither trained on nor held out, "
    "training sun and waves); 'far' (shift water under sun and waves beyond the training and "
    f"held-out ranges); per look {len(VAL_LOOKS['train'][0])} debris-free and "
    f"{len(VAL_LOOKS['train'][1])} littered patrols (30 items each), 40 distractors each, "
    "150 frames each at 5 fps, 8 m/s, 30 m "
    "(seeds in models.build.VAL_LOOKS); edge pipeline: detector -> geolocation -> tracker -> alerts; "
    "recall over the items each patrol passed"
)


class ValidationPatrols:
    """``t -> (false alerts of the worst look, alert precision, alert recall)`` on validation
    patrols of every look in ``VAL_LOOKS``, with a record per threshold and look.

    The false-alert budget holds on each look, not on their sum: the field is one water at a
    time, and the shift look (the unfamiliar water) is the one that finds a point's false alerts;
    pooled with the training look it was diluted (a point at 3 false alerts in its 2,400 frames
    passed a pooled budget of 4 in 4,800). Pass ``frames_per_look`` as the frames to budget on.
    """

    #: Tracks the patrols' detections (``models.patrol_eval.TrackerFactory``); None: the edge
    #: agent's tracker as configured by default. ``models.compare_tracking`` tries other rules.
    tracker = None

    def __init__(
        self,
        detector,
        frames_each: int = 150,
        looks: tuple[str, ...] = tuple(VAL_LOOKS),
        per_look: int | None = None,
        cache: bool = True,
    ) -> None:
        """``per_look``: the first that many debris-free and littered patrols of each look (None: all);
        ``cache``: keep the rendered patrols in ``models.patrol_eval.PATROL_CACHE``."""
        from models.patrol_eval import PATROL_CACHE, PatrolSet

        seeds = {**VAL_LOOKS, **EXTRA_LOOKS}
        unknown = [look for look in looks if look not in seeds]
        if unknown:
            raise ValueError(f"validation looks {unknown} unknown; known: {', '.join(seeds)}")
        self.looks = {
            look: PatrolSet(
                detector,
                look,
                seeds[look][0][:per_look],
                seeds[look][1][:per_look],
                frames_each,
                frames_each,
                cache_dir=PATROL_CACHE if cache else None,
            )
            for look in looks
        }
        self.frames = sum(p.clean_frames for p in self.looks.values())
        self.frames_per_look = min(p.clean_frames for p in self.looks.values())
        self.record: dict[str, dict] = {}
        self.label = ""  # prefixes the record's keys (the operating point's other half)

    def reweigh(self, detector_weight: float) -> None:
        for patrols in self.looks.values():
            patrols.reweigh(detector_weight)

    def look_again_with(self, detector) -> None:
        """Another verifier on the same candidates (``PatrolSet.look_again_with``); the record restarts."""
        for patrols in self.looks.values():
            patrols.look_again_with(detector)
        self.record = {}

    def candidates(self) -> dict[str, list[list]]:
        """Each look's candidates as the current verifier looked at them (``fuse`` takes two)."""
        return {look: patrols.candidates for look, patrols in self.looks.items()}

    def fuse(self, detector, first: dict, second: dict, a: float) -> None:
        """Decide from two verifiers' looks fused (``models.patrol_eval.fused_look``) with
        ``detector``'s operating point; the record restarts."""
        from models.patrol_eval import fused_look

        for look, patrols in self.looks.items():
            fused = [
                [fused_look(x, y, a) for x, y in zip(pa, pb, strict=True)]
                for pa, pb in zip(first[look], second[look], strict=True)
            ]
            patrols.use_candidates(detector, fused)
        self.record = {}

    def __call__(self, threshold: float) -> tuple[int, float, float]:
        from models.patrol_eval import AlertScore

        false_alerts, score, by_look = 0, AlertScore(), {}
        for look, patrols in self.looks.items():
            fa, sc = patrols.at(threshold, self.tracker)
            false_alerts, score = false_alerts + fa, score + sc
            by_look[look] = {
                "false_alerts": fa,
                "items_passed_alerted": sc.items_passed_alerted,
                "items_passed_ge_0.3m": sc.items_passed,
            }
        self.record[f"{self.label}{threshold:.3g}"] = {
            "false_alerts_debris_free": false_alerts,
            "alerts_littered": score.alerts,
            "unmatched_littered": score.unmatched,
            "items_alerted": score.items_alerted,
            "items_seen_ge_0.3m": score.items_seen,
            "items_passed_alerted": score.items_passed_alerted,
            "items_passed_ge_0.3m": score.items_passed,
            "by_look": by_look,
        }
        worst = max(look["false_alerts"] for look in by_look.values())
        return worst, score.precision, score.recall_passed

    def card(self) -> dict:
        """What the card records of these patrols: how they were flown and every threshold tried."""
        return {
            "debris_free_frames": self.frames,
            "budget": "at most 1 false alert per 1,000 debris-free frames on each look (rounded down)",
            "debris_free_frames_by_look": {look: p.clean_frames for look, p in self.looks.items()},
            "by_threshold": self.record,
            "how": VAL_PATROLS,
        }


def validation_patrols(
    detector, console, looks: tuple[str, ...] = tuple(VAL_LOOKS), scale: BuildScale = FULL
) -> ValidationPatrols:
    with console.status(f"flying validation patrols of {', '.join(looks)} (debris-free and littered)"):
        return ValidationPatrols(
            detector, scale.patrol_frames, looks, scale.patrols_per_look, scale.cache_patrols
        )


def smoke_paths(data: Path | None, out: Path | None) -> tuple[Path, Path]:
    """Where a smoke build writes: a scratch folder unless told, never the shipped model or its data
    (a smoke build's splits are smaller and would replace the full ones)."""
    scratch = Path(tempfile.mkdtemp(prefix="riverpatrol-smoke-")) if data is None or out is None else None
    data = data or scratch / "data"
    out = out or scratch / DEFAULT_OUT.name
    if out.resolve().parent == DEFAULT_OUT.resolve().parent:
        raise typer.BadParameter(f"--smoke builds a toy model: give --out outside {DEFAULT_OUT.parent}")
    if data.resolve() == DEFAULT_DATA.resolve():
        raise typer.BadParameter(f"--smoke renders smaller splits: give --data other than {DEFAULT_DATA}")
    return data, out


def _train(console, samples, cfg, init=None):
    """Train with a rich progress bar; crops at model scale (a 1080p frame halved)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from models.train import load_scaled, train

    scale = INPUT_HW[1] / NATIVE_HW[1]
    train_data = load_scaled(samples, scale)
    cols = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[loss]}"),
        TimeRemainingColumn(),
    )
    with Progress(*cols, console=console) as bar:
        task = bar.add_task("train", total=cfg.steps, loss="")

        def progress(step: int, loss: float, total: int) -> None:
            bar.update(task, completed=step, total=total, loss=f"loss {loss:.3f}")

        return train(train_data, len(DEBRIS_CLASSES), cfg, progress=progress, init=init)


def torch_save(obj: dict, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(obj, path)


def save_verifier_weights(nets: list, summary: dict, path: Path) -> None:
    """Every member's architecture and weights and the build summary, as ``load_verifier_weights``
    reads them (``--save-weights``)."""
    members = [
        {
            "widths": n.widths,
            "water_norm": n.water_norm,
            "mix": n.mix,
            "kinds": n.kinds,
            "crop": n.crop,
            "state_dict": n.state_dict(),
        }
        for n in nets
    ]
    torch_save({"members": members, "summary": summary}, path)


def load_verifier_weights(path: Path) -> tuple[list, dict]:
    """The verifier nets saved by ``--save-weights`` (every member of an ensemble) and their build
    summary."""
    from models.verifier import SHIPPED_GEOMETRY, build_net

    saved = torch_load(path)
    nets = []
    for member in saved.get("members", [saved]):  # a file of one net (before ensembles) too
        net = build_net(
            len(DEBRIS_CLASSES),
            tuple(member["widths"]),
            member.get("water_norm", False),
            member.get("mix", False),
            member.get("kinds", 0),
            member.get("crop", SHIPPED_GEOMETRY.crop),
        )
        net.load_state_dict(member["state_dict"])
        nets.append(net.eval())
    return nets, saved["summary"]


def trained_geometry(summary: dict) -> CropGeometry:
    """The window geometry a verifier's build summary records (``--save-weights`` files made
    before the geometry could be chosen hold the shipped one)."""
    from edge.detect.verify import CropGeometry

    return CropGeometry(**summary.get("geometry", {}))


def torch_load(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=False)


if __name__ == "__main__":
    app()
