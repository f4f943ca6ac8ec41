"""Synthetic debris data set from the aerial camera simulator, in YOLO layout (plus size metadata).

Splits differ by seed, and the held-out splits by look too: ``sim.camera`` draws water colour,
sun elevation and wave scale from disjoint ranges for ``domain="heldout"``. Debris-free splits
render the same kind of river with only distractors (birds, glints, boats, wakes, reflections)
to count false alerts. Each scene (one seeded world and look) contributes several frames, mostly
framed around a floating item so a few hundred frames hold thousands of labelled items.

CLI: ``python -m models.dataset OUT --train 360 --val 60 ...`` (see ``--help``).
"""

from __future__ import annotations

import collections
import json
import logging
import math
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from models.yolo_io import write_sample

log = logging.getLogger("riverpatrol.models.dataset")

DEFAULT_ALT_M = 30.0


@dataclass(frozen=True, slots=True)
class SplitSpec:
    """How to render one split."""

    name: str
    seed: int
    frames: int
    domain: str = "train"  # sim.camera appearance domain: "train" or "heldout"
    debris: bool = True  # False: debris-free frames (distractors only)
    frames_per_scene: int = 30
    alt_m: tuple[float, float] = (DEFAULT_ALT_M - 2, DEFAULT_ALT_M + 2)
    n_debris: int = 600
    n_distractors: int = 120
    distractor_weights: dict[str, float] | None = None  # None: sim.camera's own mix
    stretch_m: float = 100.0  # each scene's frames look at one stretch of river this long
    focus_fraction: float = 0.75  # frames centred near an item (debris or, if debris-free, distractor)
    width: int = 1920
    height: int = 1080

    @property
    def scenes(self) -> int:
        """Scenes the split's frames come from (its last may hold fewer frames)."""
        return math.ceil(self.frames / self.frames_per_scene)


def scene_variety_split(seed: int, frames: int) -> SplitSpec:
    """Many short scenes for the verifier (``python -m models.verifier --scene-frames``): 4 frames
    a world, so the same frames hold five times the waters, lights, banks and distractors of the
    training split (20 a world). Its misses are small items on water unlike any it trained on, and
    the training split's 1,500 frames show only 75 worlds. Training look; seed ``seed + 10``."""
    return SplitSpec(
        "train_scenes", seed + 10, frames, "train", alt_m=(20.0, 45.0), n_debris=800, frames_per_scene=4
    )


def default_splits(
    seed: int = 7,
    train: int = 1500,
    val: int = 120,
    val_negative: int = 600,
    heldout: int = 300,
    negative: int = 1000,
    train_negative: int = 600,
    train_birds: int = 1200,
) -> list[SplitSpec]:
    """The splits the shipped model is built and benchmarked from (different seeds per split).

    ``train_negative`` (debris-free, training look) only feeds the verifier its hard negatives:
    what the detector fires on where there is nothing (bird, glint, a shadow's edge).
    ``train_birds`` (debris-free, training look, floating birds only) adds the one confuser that
    survives both looks: in the default mix the training split held ~800 birds against ~13,500
    items, and faint grey birds were the validation patrols' false alerts.
    """
    return [
        SplitSpec("train", seed, train, "train", alt_m=(20.0, 45.0), n_debris=800, frames_per_scene=20),
        SplitSpec("val", seed + 1, val, "train"),
        SplitSpec(
            "val_negative", seed + 2, val_negative, "train", debris=False, frames_per_scene=60, stretch_m=50
        ),
        SplitSpec("heldout", seed + 3, heldout, "heldout"),
        SplitSpec(
            "heldout_negative", seed + 4, negative, "heldout", debris=False, frames_per_scene=60, stretch_m=50
        ),
        SplitSpec(
            "train_negative",
            seed + 5,
            train_negative,
            "train",
            debris=False,
            frames_per_scene=60,
            stretch_m=50,
        ),
        SplitSpec(
            "train_birds",
            seed + 6,
            train_birds,
            "train",
            debris=False,
            frames_per_scene=30,
            n_distractors=400,
            distractor_weights={"bird": 1.0},
            stretch_m=50,
            focus_fraction=0.9,
        ),
    ]


def _scene_frames(args: tuple[Path, SplitSpec, int, int, int]) -> int:
    """Render frames ``[first, first + count)`` of one scene of a split; returns labelled items."""
    from contract.camera import CameraModel, CameraPose
    from sim.camera.render import render
    from sim.camera.scene import RiverScene

    root, spec, scene_index, first, count = args
    scene_seed = int(np.random.SeedSequence([spec.seed, scene_index]).generate_state(1)[0])
    scene = RiverScene(
        seed=scene_seed,
        n_debris=spec.n_debris if spec.debris else 0,
        n_distractors=spec.n_distractors,
        distractor_weights=spec.distractor_weights,
        domain=spec.domain,  # type: ignore[arg-type]
    )
    rng = np.random.default_rng([spec.seed, scene_index, 1])
    camera = CameraModel.default().scaled(spec.width, spec.height)
    half = scene.width_m / 2
    # One stretch of river per scene, like a patrol leg: the renderer's ground tiles are reused
    # from frame to frame, which makes rendering several times faster than jumping around.
    s0 = float(rng.uniform(0, max(1.0, scene.river.length_m - spec.stretch_m)))
    anchors = scene.debris if spec.debris else scene.distractors
    items = 0
    for k in range(count):
        t = float(rng.uniform(0, 300))
        near = [a for a in anchors if s0 <= a.arc_at(scene.river, t) <= s0 + spec.stretch_m]
        if near and rng.random() < spec.focus_fraction:
            item = near[int(rng.integers(len(near)))]
            n, e = item.position_ne(scene.river, t)
            n += rng.uniform(-10, 10)
            e += rng.uniform(-18, 18)
        else:
            p = scene.river.point_at(rng.uniform(s0, s0 + spec.stretch_m), rng.uniform(-half - 5, half + 5))
            n, e = float(p[0]), float(p[1])
        lat, lon = scene.to_lat_lon(n, e)
        pose = CameraPose(
            lat=lat, lon=lon, alt_m=float(rng.uniform(*spec.alt_m)), yaw_deg=float(rng.uniform(0, 360))
        )
        frame = render(scene, pose, camera, t)
        truth = [b for b in frame.truth if b.visible_fraction > 0.05]
        boxes = np.asarray([[b.x1, b.y1, b.x2, b.y2] for b in truth], np.float32).reshape(-1, 4)
        classes = np.asarray([b.class_index for b in truth], np.int64)
        meta = {
            "split": spec.name,
            "scene_seed": scene_seed,
            "domain": spec.domain,
            "water": scene.appearance.water_family if scene.appearance else "",
            "width": spec.width,
            "height": spec.height,
            "gsd_m": frame.gsd_m,
            "pose": pose.model_dump(),
            "t": t,
            "objects": [
                {
                    "class": b.kind,
                    "size_m": b.size_m,
                    "visible_fraction": b.visible_fraction,
                    "lat": b.lat,
                    "lon": b.lon,
                }
                for b in truth
            ],
            "distractors": [{"kind": b.kind, "box": [b.x1, b.y1, b.x2, b.y2]} for b in frame.distractors],
        }
        write_sample(root, spec.name, first + k, frame.image, boxes, classes, meta)
        items += len(truth)
    return items


def _scene_jobs(root: Path, spec: SplitSpec) -> list[tuple[Path, SplitSpec, int, int, int]]:
    """One ``_scene_frames`` job per scene of ``spec``."""
    firsts = [s * spec.frames_per_scene for s in range(spec.scenes)]
    return [(root, spec, s, f, min(spec.frames_per_scene, spec.frames - f)) for s, f in enumerate(firsts)]


def _render_splits(
    root: Path, specs: list[SplitSpec], workers: int, progress: Callable[[str], None] | None = None
) -> dict[str, dict]:
    """Render ``specs`` into ``root/<name>/``, every scene of every split through one pool of
    ``workers`` processes (a small split has one scene: split by split, one core would idle);
    ``progress(name)`` after each scene. Returns each split's summary (frames, items, scenes).

    Each folder is emptied first: a split re-rendered smaller must not keep the old frames past
    its end (readers take every file in it). A split's ``split.json``, which marks it complete,
    is written as soon as its last scene is, so an interrupted build keeps the splits it finished."""
    for spec in specs:
        shutil.rmtree(root / spec.name, ignore_errors=True)
    jobs = [job for spec in specs for job in _scene_jobs(root, spec)]
    left = collections.Counter(job[1].name for job in jobs)
    items: collections.Counter[str] = collections.Counter()
    out = {}

    def finish(spec: SplitSpec) -> None:
        name, scenes = spec.name, spec.scenes
        out[name] = {"frames": spec.frames, "items": items[name], "scenes": scenes, "spec": asdict(spec)}
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "split.json").write_text(json.dumps(out[name], indent=2))
        log.info("split=%s frames=%d items=%d scenes=%d", name, spec.frames, items[name], scenes)

    def scene_done(spec: SplitSpec, n: int) -> None:
        items[spec.name] += n
        left[spec.name] -= 1
        if progress:
            progress(spec.name)
        if left[spec.name] == 0:
            finish(spec)

    for spec in specs:
        if not left[spec.name]:  # no frames asked: complete as it is
            finish(spec)
    if workers > 1 and len(jobs) > 1:
        import cv2

        cv2.setNumThreads(1)  # before the fork: the render processes already use every core
        with ProcessPoolExecutor(workers) as pool:
            for job, n in zip(jobs, pool.map(_scene_frames, jobs), strict=True):  # in order
                scene_done(job[1], n)
    else:
        for job in jobs:
            scene_done(job[1], _scene_frames(job))
    return out


def generate_split(
    root: Path, spec: SplitSpec, workers: int = 2, progress: Callable[[int], None] | None = None
) -> dict:
    """Render one split into ``root/<name>/`` (emptied first); returns a summary (frames, items, scenes)."""
    return _render_splits(root, [spec], workers, progress and (lambda _name: progress(1)))[spec.name]


def write_data_yaml(root: Path, names: tuple[str, ...]) -> Path:
    """``data.yaml`` so ``yolo train data=<root>/data.yaml`` trains on the same folders."""
    lines = [
        f"path: {root.resolve()}",
        "train: train/images",
        "val: val/images",
        "test: heldout/images",
        "names:",
    ]
    lines += [f"  {i}: {n}" for i, n in enumerate(names)]
    path = root / "data.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _same_spec(stored: dict, spec: SplitSpec) -> bool:
    """Whether a rendered split's recorded spec is ``spec``; options left at None (added after
    the split was rendered, like ``distractor_weights``) do not force a re-render."""

    def key(d: dict) -> dict:
        return {k: v for k, v in d.items() if v is not None}

    return key(stored) == key(json.loads(json.dumps(asdict(spec))))


def generate(root: Path, specs: list[SplitSpec], workers: int = 2) -> dict[str, dict]:
    """Render every split (skipping splits already complete) with a progress bar; returns summaries."""
    from rich.progress import Progress

    from contract.messages import DEBRIS_CLASSES

    root.mkdir(parents=True, exist_ok=True)
    out, pending = {}, []
    for spec in specs:
        done = root / spec.name / "split.json"
        stored = json.loads(done.read_text()) if done.is_file() else None
        if stored is not None and _same_spec(stored["spec"], spec):
            out[spec.name] = stored
        else:
            pending.append(spec)
    with Progress() as bar:
        tasks = {s.name: bar.add_task(f"render {s.name}", total=s.scenes) for s in pending}
        out.update(_render_splits(root, pending, workers, lambda name: bar.advance(tasks[name], 1)))
    out = {spec.name: out[spec.name] for spec in specs}  # in the order asked
    write_data_yaml(root, DEBRIS_CLASSES)
    return out


app = typer.Typer(add_completion=False)


@app.command()
def main(
    out: Annotated[Path, typer.Argument(help="Output folder (YOLO layout).")],
    seed: Annotated[int, typer.Option(help="Base seed; splits use seed, seed+1, ...")] = 7,
    train: Annotated[int, typer.Option(help="Training frames.")] = 1500,
    val: Annotated[int, typer.Option(help="Validation frames (training look).")] = 120,
    val_negative: Annotated[int, typer.Option(help="Debris-free validation frames.")] = 600,
    heldout: Annotated[int, typer.Option(help="Held-out frames (unseen water and light).")] = 300,
    negative: Annotated[int, typer.Option(help="Held-out debris-free frames.")] = 1000,
    train_negative: Annotated[int, typer.Option(help="Debris-free training frames (verifier).")] = 600,
    train_birds: Annotated[
        int, typer.Option(help="Training frames of floating birds only (verifier).")
    ] = 1200,
    width: Annotated[int, typer.Option(help="Frame width, px.")] = 1920,
    height: Annotated[int, typer.Option(help="Frame height, px.")] = 1080,
    workers: Annotated[int, typer.Option(help="Render processes.")] = 2,
) -> None:
    """Render the synthetic train/val/held-out splits into OUT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    specs = [
        SplitSpec(**{**asdict(s), "width": width, "height": height})
        for s in default_splits(
            seed, train, val, val_negative, heldout, negative, train_negative, train_birds
        )
    ]
    summary = generate(out, [s for s in specs if s.frames > 0], workers)
    for name, s in summary.items():
        typer.echo(f"{name}: {s['frames']} frames, {s['items']} items, {s['scenes']} scenes")


if __name__ == "__main__":
    app()
