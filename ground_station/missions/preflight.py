"""Is the drone ready to patrol? Its payload and its failsafes, judged before take-off.

A patrol flown with the camera unplugged, the detector stopped or the agent deaf to the
autopilot comes back with nothing found, and nobody knows until the river is checked again.
The agent says all three in its telemetry (``camera``, ``detect_fps``, ``link_ok``); these pure
functions read the fleet view of it. ``mission start``/``resume`` refuse to take off while any
of them fails (``payload_check``, ``--no-payload-check``).

A drone flown beyond sight along a river must turn home by itself when its battery runs low.
ArduCopter ships with that off (no monitor thresholds, ``BATT_FS_LOW_ACT`` 0): the vehicle's
parameters are read and judged too (``failsafe_check``, ``--no-failsafe-check``).
"""

from __future__ import annotations

from collections.abc import Mapping

from contract.geo import distance_m
from ground_station.fleet.model import DroneRow, Link, shared_id_problem

#: How near the vehicle an agent's last reported position must be for the agent to be this
#: vehicle's. Both are the autopilot's own fix; the agent's is at most a telemetry period old.
AGENT_NEAR_M = 50.0


class PayloadNotReady(Exception):
    """The agent is not heard, or it says it cannot patrol; the message lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def _placed(rows: list[DroneRow]) -> list[DroneRow]:
    """The online agents that say where their drone is: a position, and the autopilot heard."""
    return [
        r
        for r in rows
        if r.link is Link.ONLINE
        and r.lat is not None
        and r.lon is not None
        and r.telemetry_link_ok is not False
    ]


def _away(here: tuple[float, float], row: DroneRow) -> float:
    """Metres from ``here`` to where a placed agent's drone is."""
    assert row.lat is not None and row.lon is not None
    return distance_m(here[0], here[1], row.lat, row.lon)


def _other_board(row: DroneRow, board: str | None) -> bool:
    """Whether the agent says it rides a flight controller other than ``board`` (an id two
    vehicles report as rides both: ``payload_problems`` says what is wrong with it)."""
    return (
        board is not None
        and row.board_id is not None
        and row.board_id != board
        and board not in row.id_shared_by
    )


def agents_at(
    rows: list[DroneRow],
    here: tuple[float, float],
    within_m: float = AGENT_NEAR_M,
    board: str | None = None,
) -> list[DroneRow]:
    """The online agents whose telemetry puts their drone within ``within_m`` of ``here``
    (lat, lon), nearest first: which agent rides on the vehicle this station is talking to. An
    agent that reports a board id other than the vehicle's (``board``) rides another, however near."""
    near = (r for r in _placed(rows) if not _other_board(r, board) and _away(here, r) <= within_m)
    return sorted(near, key=lambda r: _away(here, r))


def vehicle_agents(
    rows: list[DroneRow], here: tuple[float, float] | None, board: str | None = None
) -> list[DroneRow]:
    """The online agents that ride on the vehicle: those that report its flight controller's
    board id (``board``), wherever they say it is; else those whose drone is where it is
    (``here``: lat, lon) and that report no other board. The board id tells two drones on one
    launch pad apart, where their positions cannot."""
    online = [r for r in rows if r.link is Link.ONLINE]
    if board is not None and (same := [r for r in online if board in (r.board_id, *r.id_shared_by)]):
        return same
    return [] if here is None else agents_at(online, here, board=board)


def agent_here(
    rows: list[DroneRow], here: tuple[float, float] | None, board: str | None = None
) -> str | None:
    """The ``drone_id`` of the one agent on the vehicle (``vehicle_agents``); None where none is,
    or more than one (two drones side by side, one of them not saying its board), or the vehicle
    gave neither its board nor its position, or the agent's id is another vehicle's too."""
    mine = vehicle_agents(rows, here, board)
    return mine[0].drone_id if len(mine) == 1 and not mine[0].id_shared_by else None


def choose_agent(
    rows: list[DroneRow],
    drone_id: str,
    here: tuple[float, float] | None = None,
    board: str | None = None,
) -> DroneRow:
    """The agent to judge: ``drone_id``'s; with none given, the one agent on the vehicle (by its
    board id ``board``, else where it is, ``here``: ``vehicle_agents``), else the one agent heard
    online that does not ride another board. An agent on another drone is never judged: its
    camera would pass or stop this take-off on another's payload."""
    if drone_id:
        for r in rows:
            if r.drone_id == drone_id:
                if _other_board(r, board):
                    raise PayloadNotReady(
                        [
                            f"edge agent {drone_id!r} rides another flight controller (board"
                            f" {r.board_id}) than this vehicle's ({board}): is {drone_id!r} this drone's?"
                        ]
                    )
                return r
        heard = ", ".join(sorted(r.drone_id for r in rows)) or "none"
        raise PayloadNotReady([f"no edge agent {drone_id!r} heard on the broker (heard: {heard})"])
    online = [r for r in rows if r.link is Link.ONLINE]
    mine = vehicle_agents(online, here, board)
    if len(mine) == 1:
        return mine[0]
    if mine:
        names = ", ".join(r.drone_id for r in mine)
        on = (
            f"say they ride this vehicle (board {board})"
            if board and mine[0].board_id == board
            else "where this vehicle is"
        )
        raise PayloadNotReady([f"{len(mine)} edge agents online {on} ({names}): name its own with --drone"])
    if online and all(_other_board(r, board) for r in online):
        names, say = ", ".join(sorted(r.drone_id for r in online)), "says" if len(online) == 1 else "say"
        raise PayloadNotReady(
            [
                f"no edge agent online rides this vehicle (board {board}): {names} {say} another"
                " board; is this drone's agent up? (--drone names it)"
            ]
        )
    candidates = [r for r in online if not _other_board(r, board)]  # may ride this vehicle
    placed = _placed(candidates)
    if here is not None and placed and len(placed) == len(candidates):  # each is elsewhere
        r = min(placed, key=lambda r: _away(here, r))
        raise PayloadNotReady(
            [
                f"no edge agent online where this vehicle is (the nearest, {r.drone_id}, is"
                f" {_away(here, r):,.0f} m away): is this drone's agent up? (--drone names it)"
            ]
        )
    if len(candidates) == 1:
        return candidates[0]
    if not online:
        raise PayloadNotReady(
            ["no edge agent heard on the broker: is `riverpatrol edge run` up on the drone?"]
        )
    names = ", ".join(sorted(r.drone_id for r in candidates))
    raise PayloadNotReady([f"{len(candidates)} edge agents online ({names}): name this drone's with --drone"])


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
    out = [shared] if (shared := shared_id_problem(row)) else []  # whose camera was judged?
    if row.camera is not None and row.camera != "ok":
        out.append(f"{who}: camera {row.camera}")
    if row.detect_fps is not None and row.detect_fps <= 0 and row.camera in (None, "ok"):
        out.append(f"{who}: the detector runs no frames (0 per second)")
    if row.telemetry_link_ok is False:
        out.append(f"{who}: the agent does not hear the autopilot: its finds could not be placed on the map")
    return out


#: The parameters :func:`failsafe_problems` judges, read from the vehicle.
FAILSAFE_PARAMS = (
    "BATT_MONITOR",
    "BATT_LOW_VOLT",
    "BATT_LOW_MAH",
    "BATT_CRT_VOLT",
    "BATT_CRT_MAH",
    "BATT_FS_LOW_ACT",
    "BATT_FS_CRT_ACT",
    "FENCE_ENABLE",
    "SRTL_POINTS",
)


def failsafe_problems(params: Mapping[str, float | None]) -> tuple[list[str], list[str]]:
    """Why the vehicle would not turn home on a low battery (refuse the take-off), and what else
    the operator should know (say it). A parameter the vehicle did not give (``None``, missing)
    is not judged."""

    def value(name: str) -> float | None:
        return params.get(name)

    problems: list[str] = []
    if value("BATT_MONITOR") == 0:
        problems.append("no battery monitor (BATT_MONITOR 0): it cannot tell its battery is running out")
    else:
        limits = ("BATT_LOW_VOLT", "BATT_LOW_MAH", "BATT_CRT_VOLT", "BATT_CRT_MAH")
        known = [value(n) for n in limits if value(n) is not None]
        actions = [value(n) for n in ("BATT_FS_LOW_ACT", "BATT_FS_CRT_ACT") if value(n) is not None]
        if len(known) == len(limits) and all(v is not None and v <= 0 for v in known):
            problems.append(
                "no battery failsafe level (BATT_LOW_VOLT, BATT_LOW_MAH, BATT_CRT_VOLT and BATT_CRT_MAH"
                " all 0): a low battery will not turn it home"
            )
        elif len(actions) == 2 and all(a == 0 for a in actions):
            problems.append(
                "the battery failsafe does nothing (BATT_FS_LOW_ACT and BATT_FS_CRT_ACT 0): a low"
                " battery will not turn it home (2 RTL, 3 SmartRTL or RTL)"
            )
    notes = []
    if value("SRTL_POINTS") == 0:
        notes.append(
            "SmartRTL is off (SRTL_POINTS 0): a fence breach or a failsafe comes home in a straight line,"
            " over whatever lies between the river and home"
        )
    if value("FENCE_ENABLE") == 0:
        notes.append(
            "geofence off: nothing keeps it to the river (`gcs plan` draws one, `mission upload` turns it on)"
        )
    return problems, notes
