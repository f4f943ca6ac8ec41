"""Is the drone's payload ready to patrol? The edge agent's own telemetry, judged before take-off.

A patrol flown with the camera unplugged, the detector stopped or the agent deaf to the
autopilot comes back with nothing found, and nobody knows until the river is checked again.
The agent says all three in its telemetry (``camera``, ``detect_fps``, ``link_ok``); these pure
functions read the fleet view of it. ``mission start``/``resume`` refuse to take off while any
of them fails (``payload_check``, ``--no-payload-check``).
"""

from __future__ import annotations

from ground_station.fleet.model import DroneRow, Link


class PayloadNotReady(Exception):
    """The agent is not heard, or it says it cannot patrol; the message lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def choose_agent(rows: list[DroneRow], drone_id: str) -> DroneRow:
    """The agent to judge: ``drone_id``'s, or with none given the one agent heard online."""
    if drone_id:
        for r in rows:
            if r.drone_id == drone_id:
                return r
        heard = ", ".join(sorted(r.drone_id for r in rows)) or "none"
        raise PayloadNotReady([f"no edge agent {drone_id!r} heard on the broker (heard: {heard})"])
    online = [r for r in rows if r.link is Link.ONLINE]
    if len(online) == 1:
        return online[0]
    if not online:
        raise PayloadNotReady(
            ["no edge agent heard on the broker: is `riverpatrol edge run` up on the drone?"]
        )
    names = ", ".join(sorted(r.drone_id for r in online))
    raise PayloadNotReady([f"{len(online)} edge agents online ({names}): name this drone's with --drone"])


def payload_problems(row: DroneRow) -> list[str]:
    """Why this agent cannot patrol now (empty: ready). An agent that does not report a field
    (an older one) is not judged on it."""
    who = row.drone_id
    if row.link is not Link.ONLINE:
        ago = f", last heard {row.last_heard_s:.0f} s ago" if row.last_heard_s is not None else ""
        why = f" ({row.reason})" if row.reason else ""
        return [f"{who}: its edge agent is {row.link.value}{why}{ago}"]
    if row.mode is None:  # a retained "online" status, and not one telemetry message since
        return [f"{who}: no telemetry from its edge agent yet"]
    out = []
    if row.camera is not None and row.camera != "ok":
        out.append(f"{who}: camera {row.camera}")
    if row.detect_fps is not None and row.detect_fps <= 0 and row.camera in (None, "ok"):
        out.append(f"{who}: the detector runs no frames (0 per second)")
    if row.telemetry_link_ok is False:
        out.append(f"{who}: the agent does not hear the autopilot: its finds could not be placed on the map")
    return out
