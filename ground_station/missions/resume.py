"""Where to pick an interrupted patrol up again, and the per-vehicle state file that remembers it.

A patrol interrupted by RTL or a battery swap must not skip river: we resume *at* the last
waypoint the vehicle reported reached (MISSION_ITEM_REACHED), so the leg after it is flown in
full. The vehicle's own MISSION_CURRENT is the fallback (it is lost when the autopilot reboots
for a battery swap, hence the file). The file carries a fingerprint of the mission so a
different mission uploaded since is never resumed at a stale index.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

from contract.files import write_atomic
from ground_station.mavlink.mission import MissionItem

MAV_CMD_NAV_WAYPOINT = 16
MAV_CMD_NAV_LOITER_UNLIM = 17
MAV_CMD_NAV_LOITER_TURNS = 18
MAV_CMD_NAV_LOITER_TIME = 19
MAV_CMD_NAV_RETURN_TO_LAUNCH = 20
MAV_CMD_NAV_LAND = 21
MAV_CMD_NAV_TAKEOFF = 22
MAV_CMD_NAV_LOITER_TO_ALT = 31
MAV_CMD_NAV_SPLINE_WAYPOINT = 82
#: Nav commands that fly to a point of the route: the ones a resume may restart at.
ROUTE_COMMANDS = frozenset(
    {
        MAV_CMD_NAV_WAYPOINT,
        MAV_CMD_NAV_SPLINE_WAYPOINT,
        MAV_CMD_NAV_LOITER_UNLIM,
        MAV_CMD_NAV_LOITER_TURNS,
        MAV_CMD_NAV_LOITER_TIME,
        MAV_CMD_NAV_LOITER_TO_ALT,
    }
)
NAV_COMMANDS = ROUTE_COMMANDS | {MAV_CMD_NAV_TAKEOFF, MAV_CMD_NAV_LAND, MAV_CMD_NAV_RETURN_TO_LAUNCH}


class ResumeError(ValueError):
    """No safe place to resume; the message says why and what to do."""


def fingerprint(items: list[MissionItem]) -> str:
    """Short stable hash of a mission's route (what a resume index refers to)."""
    h = hashlib.sha256()
    for it in items:
        h.update(f"{it.seq},{it.command},{it.frame},{it.lat:.7f},{it.lon:.7f},{it.alt:.2f};".encode())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class PatrolProgress:
    """What the ground station last saw of one vehicle's mission."""

    vehicle: str
    fingerprint: str
    count: int
    last_reached: int | None = None
    current: int | None = None
    updated: str = ""

    def reached(self, seq: int, when: datetime) -> PatrolProgress:
        return replace(self, last_reached=seq, updated=when.isoformat())

    def flying_to(self, seq: int, when: datetime) -> PatrolProgress:
        return replace(self, current=seq, updated=when.isoformat())


def newest(mine: PatrolProgress, saved: PatrolProgress | None) -> PatrolProgress:
    """The newer record of one mission's progress: what ``resume`` saved where it took the patrol
    up, after a follower began, is carried on by the follower, not overwritten by its older view."""
    if saved is not None and saved.fingerprint == mine.fingerprint and saved.updated > mine.updated:
        return replace(saved, vehicle=mine.vehicle)
    return mine


def resume_item(items: list[MissionItem], last_reached: int | None, current: int | None) -> int:
    """Mission seq to make current so the patrol continues from the last reached waypoint.

    ``last_reached`` wins; else the route item before the vehicle's ``current``. Take-off
    and landing items are stepped over to the next route waypoint.
    """
    if not items:
        raise ResumeError("the vehicle holds no mission: upload one first")
    by_seq = {it.seq: it for it in items}
    last = max(by_seq)
    if last_reached is not None:
        start = last_reached
    elif current is not None and current >= 1:
        before = [s for s in sorted(by_seq) if s < current and by_seq[s].command in ROUTE_COMMANDS]
        start = before[-1] if before else current
    else:
        raise ResumeError(
            "no reached waypoint is known for this vehicle (no state file and the vehicle reports no "
            "current item): use `mission start` or `mission resume --from N`"
        )
    if start > last:
        raise ResumeError(f"waypoint {start} is past the end of the {last}-item mission")
    for seq in range(max(1, start), last + 1):
        it = by_seq.get(seq)
        if it is not None and it.command in ROUTE_COMMANDS:
            return seq
    raise ResumeError(f"no route waypoint at or after item {start}: the patrol was complete")


# --- the state file (thin disk adapter) --------------------------------------------------------


def state_path(data_dir: Path, vehicle: str) -> Path:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", vehicle).strip("_") or "vehicle"
    return Path(data_dir) / "missions" / f"{safe}.json"


def load_progress(path: Path) -> PatrolProgress | None:
    """The saved progress, ``None`` if there is none; ``ResumeError`` naming the file if unreadable."""
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return PatrolProgress(**data)
    except (OSError, ValueError, TypeError) as e:
        raise ResumeError(f"{path}: unreadable patrol state ({e}); delete it or use --from N") from e


def readable_progress(path: Path) -> PatrolProgress | None:
    """The saved progress, None where there is none or it cannot be read (a torn file): for
    readers that have another to go on."""
    try:
        return load_progress(path)
    except ResumeError:
        return None


def progress_kept_elsewhere(state_file: Path, fp: str) -> tuple[Path, PatrolProgress] | None:
    """This mission's progress kept under another name: the most recently updated state file
    beside ``state_file`` for the mission ``fp`` with a waypoint reached. A vehicle named
    otherwise at ``resume`` than when it flew (its edge agent not heard yet after a battery swap,
    ``drone_id`` set since, another drone taking the patrol over) still resumes where the patrol
    stopped, not at an autopilot's current item that a reboot reset. Unreadable files are skipped."""
    found: list[tuple[str, Path, PatrolProgress]] = []
    for path in sorted(state_file.parent.glob("*.json")):
        if path == state_file:
            continue
        p = readable_progress(path)
        if p is not None and p.fingerprint == fp and p.last_reached is not None:
            found.append((p.updated, path, p))
    if not found:
        return None
    _, path, progress = max(found, key=lambda f: (f[0], str(f[1])))
    return path, progress


def save_progress(path: Path, progress: PatrolProgress) -> None:
    """Write atomically: a crash mid-write leaves the previous state, never half a file."""
    write_atomic(path, json.dumps(asdict(progress), indent=2) + "\n")
