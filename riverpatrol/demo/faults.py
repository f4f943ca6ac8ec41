"""The demo's faults on the patrol's wall clock: the drone's radio link cut, its camera off.

``riverpatrol demo --link-outage`` and ``--camera-blackout`` name windows in wall seconds of the
patrol. ``PatrolFaults.tick`` cuts and restores the radio (``riverpatrol.demo.radio``) and
switches the simulator's camera as the patrol enters and leaves them, and keeps what the summary
reports: how many alerts waited on the drone, and how long the edge went without a frame. Lost
and corrupt frames need no clock: the simulator's camera draws them itself (``sim.camera.faults``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sim.settings import Window


class Camera(Protocol):
    """The simulator's camera as the demo holds it (``riverpatrol.demo.simulator.SimProcess``)."""

    @property
    def camera_off(self) -> bool: ...
    @property
    def frames_faulted(self) -> tuple[int, int]: ...  # lost, sent corrupt
    def switch_camera(self, on: bool) -> None: ...


class Radio(Protocol):
    """The drone's link to the broker (``riverpatrol.demo.radio.RadioLink``)."""

    up: bool
    cuts: int

    def cut(self) -> None: ...
    def restore(self) -> None: ...


class Agent(Protocol):
    """What is read of the edge agent (``edge.agent.EdgeAgent``)."""

    frames_done: int
    outbox_depth_at_stop: int
    source: Any  # its frame source: ``reconnects``

    def status(self) -> Any: ...  # ``outbox_depth``
    def camera_frame_age(self) -> float: ...
    def frames_rejected(self) -> int: ...


@dataclass
class PatrolFaults:
    """What the demo does to the drone during the patrol, and what the edge lived through."""

    sim: Camera
    radio: Radio | None = None  # between the drone and the broker, when a link outage is asked for
    link_outage: Window | None = None
    camera_blackout: Window | None = None
    frame_loss_pct: float = 0.0  # frames the simulator's camera loses (it draws which itself)
    frame_corrupt_pct: float = 0.0  # frames it sends with their JPEG cut short
    held: int = 0  # the most alert messages waiting on the drone while the link was cut
    longest_gap_s: float = 0.0  # the longest the edge went without a camera frame while airborne

    @property
    def camera(self) -> bool:
        """Whether the camera has any fault to report."""
        return bool(self.frame_loss_pct or self.frame_corrupt_pct) or self.camera_blackout is not None

    def announce(self) -> str:
        """The camera faults to come, said before the patrol ("" when none were asked for)."""
        if not self.camera:
            return ""
        line = (
            f"camera faults: {self.frame_loss_pct:g} % of frames lost, "
            f"{self.frame_corrupt_pct:g} % sent corrupt"
        )
        if self.camera_blackout is not None:
            w = self.camera_blackout
            line += f", off from {w.start:g} s to {w.end:g} s of the patrol"
        return line

    def tick(self, elapsed_s: float, agent: Agent, airborne: bool) -> None:
        """Bring the link and camera to what the patrol's ``elapsed_s`` calls for; note the edge's state.

        The link is cut once (a window, entered once); the camera is off exactly inside its window.
        ``airborne``: the simulated camera sends from 2 m up, so a landing is no gap."""
        if self.radio is not None and self.link_outage is not None:
            inside = self.link_outage.contains(elapsed_s)
            if inside and self.radio.up and not self.radio.cuts:
                self.radio.cut()
            elif not inside and not self.radio.up:
                self.radio.restore()
            if not self.radio.up:
                self.held = max(self.held, agent.status().outbox_depth)
        if self.camera_blackout is not None:
            inside = self.camera_blackout.contains(elapsed_s)
            if inside != self.sim.camera_off:
                self.sim.switch_camera(not inside)
        if airborne:
            self.longest_gap_s = max(self.longest_gap_s, agent.camera_frame_age())

    def end(self) -> None:
        """The patrol is over: link and camera back for the landing, whatever the windows said."""
        if self.radio is not None and not self.radio.up:
            self.radio.restore()
        if self.sim.camera_off:
            self.sim.switch_camera(True)

    def summary(self, agent: Agent) -> list[str]:
        """The end-of-demo lines, read once the agent and the simulator have stopped (final counts)."""
        lines = []
        if self.radio is not None and self.link_outage is not None:
            w = self.link_outage
            lines.append(
                f"radio link cut {self.radio.cuts} time(s), {w.start:g}-{w.end:g} s of the "
                f"patrol: up to {self.held} alert message(s) waited on the drone; "
                f"{agent.outbox_depth_at_stop} left in its outbox at the end"
            )
        if self.camera:
            lost, corrupt = self.sim.frames_faulted
            line = (
                f"camera faults: the simulator lost {lost} frame(s) and sent {corrupt} corrupt; the edge "
                f"skipped {agent.frames_rejected()} frame(s) and detected the other {agent.frames_done}"
            )
            if self.camera_blackout is not None:
                w = self.camera_blackout
                line += (
                    f"; camera off {w.start:g}-{w.end:g} s of the patrol: the edge had no frame for up "
                    f"to {self.longest_gap_s:.0f} s and reconnected {agent.source.reconnects} time(s)"
                )
            lines.append(line)
        return lines
