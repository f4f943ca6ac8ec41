"""Class names across vocabularies: a model's, a dataset's, the wire contract's (pure functions).

A model trained on someone's own river names its classes its own way (``plastic_bottle``,
``tyre``, ``person``), but an alert carries one of the contract's debris classes. These functions
match names (case-insensitively) and take a short map for the rest, written
``"plastic_bottle=bottle,tyre="``: an empty right side leaves the class out, and ``*=`` leaves
out every class the map does not name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from contract.messages import DEBRIS_CLASSES
from edge.detect.detection import Detection
from edge.detect.errors import DetectorError

WILDCARD = "*"


class ClassMapError(DetectorError, ValueError):
    """A class map that names classes nobody has, or a model class with no debris class."""


def parse_name_map(text: str) -> dict[str, str]:
    """``"plastic_bag=bag,tyre="`` -> ``{"plastic_bag": "bag", "tyre": ""}``; ``ClassMapError`` on a
    bad pair."""
    out: dict[str, str] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in pair:
            raise ClassMapError(f"class map entry {pair!r} is not 'name=class' ('name=' leaves it out)")
        src, dst = (s.strip() for s in pair.split("=", 1))
        if not src:
            raise ClassMapError(f"class map entry {pair!r} names no class")
        if src == WILDCARD and dst:
            raise ClassMapError(f"class map entry {pair!r}: '*' can only leave classes out ('*=')")
        out[src] = dst
    return out


def match_names(
    source: Sequence[str], target: Sequence[str], overrides: dict[str, str] | None = None
) -> dict[int, int | None]:
    """Source class index -> target class index: by ``overrides``, else by the same name (any case);
    None where the override is empty or no target class has the name.

    ``ClassMapError`` when an override names a source class that does not exist or a target
    class that does not exist.
    """
    lower = {n.lower(): i for i, n in enumerate(target)}
    ov = {k.lower(): v.lower() for k, v in (overrides or {}).items() if k != WILDCARD}
    unknown = sorted(set(ov) - {n.lower() for n in source})
    if unknown:
        raise ClassMapError(f"class map names {unknown}, which are not among {list(source)}")
    out: dict[int, int | None] = {}
    for i, name in enumerate(source):
        key = ov.get(name.lower(), name.lower())
        if key and key not in lower and name.lower() in ov:
            raise ClassMapError(f"class map sends {name!r} to {key!r}, which is not among {list(target)}")
        out[i] = lower.get(key) if key else None
    return out


def debris_classes(
    model_names: Sequence[str], overrides: dict[str, str] | None = None
) -> tuple[str | None, ...]:
    """The contract debris class of each of a model's classes (None: left out of alerts).

    Every model class must match a debris class, be mapped to one or be left out (by name or by
    ``*=``): ``ClassMapError`` lists the ones that are not, so the agent stops at start rather
    than failing every alert in flight.
    """
    overrides = overrides or {}
    m = match_names(model_names, DEBRIS_CLASSES, overrides)
    named = {k.lower() for k in overrides}
    loose = [n for i, n in enumerate(model_names) if m[i] is None and n.lower() not in named]
    if loose and WILDCARD not in overrides:
        raise ClassMapError(
            f"model classes {loose} are not debris classes of the wire contract {list(DEBRIS_CLASSES)}: "
            f"map each (class_map / --class-map, e.g. '{loose[0]}=bottle'), leave it out ('{loose[0]}=') "
            "or leave out every class not named ('*=')"
        )
    return tuple(None if j is None else DEBRIS_CLASSES[j] for j in (m[i] for i in range(len(model_names))))


def to_debris(detections: list[Detection], classes: Sequence[str | None]) -> list[Detection]:
    """``detections`` renamed into debris classes (``debris_classes``); left-out classes dropped."""
    out = []
    for d in detections:
        name = classes[d.class_index] if 0 <= d.class_index < len(classes) else None
        if name is None:
            continue
        index = DEBRIS_CLASSES.index(name)
        same = d.class_name == name and d.class_index == index
        out.append(d if same else replace(d, class_name=name, class_index=index))
    return out
