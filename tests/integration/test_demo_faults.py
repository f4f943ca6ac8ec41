"""The demo's fault schedule on its own: when the link is cut and the camera off, what it reports.

``PatrolFaults`` only decides; the radio link, the simulator's camera switch and the agent it
reads are tested against real sockets elsewhere (test_demo_parts, test_camera_feed, test_demo).
Here small stand-ins record what it asked of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from riverpatrol.demo.faults import PatrolFaults
from sim.settings import Window


@dataclass
class Radio:
    up: bool = True
    cuts: int = 0

    def cut(self) -> None:
        self.up, self.cuts = False, self.cuts + 1

    def restore(self) -> None:
        self.up = True


@dataclass
class Sim:
    camera_off: bool = False
    switches: list[bool] = field(default_factory=list)
    frames_faulted: tuple[int, int] = (3, 4)

    def switch_camera(self, on: bool) -> None:
        self.camera_off = not on
        self.switches.append(on)


@dataclass
class Agent:
    depth: int = 0
    frame_age_s: float = 0.1
    frames_done: int = 90
    outbox_depth_at_stop: int = 0
    source: SimpleNamespace = field(default_factory=lambda: SimpleNamespace(reconnects=1))

    def status(self) -> SimpleNamespace:
        return SimpleNamespace(outbox_depth=self.depth)

    def camera_frame_age(self) -> float:
        return self.frame_age_s

    def frames_rejected(self) -> int:
        return 5


def test_the_link_is_cut_once_inside_its_window_and_the_camera_is_off_exactly_inside_its_own() -> None:
    radio, sim, agent = Radio(), Sim(), Agent()
    faults = PatrolFaults(sim, radio, Window.model_validate("10:20"), Window.model_validate("15:25"))
    seen = []
    for t in range(0, 31, 5):
        agent.depth = t  # alerts pile up on the drone while the link is cut
        faults.tick(float(t), agent, airborne=True)
        seen.append((t, radio.up, sim.camera_off))
    assert seen == [
        (0, True, False),
        (5, True, False),
        (10, False, False),
        (15, False, True),
        (20, True, True),
        (25, True, False),
        (30, True, False),
    ]
    assert radio.cuts == 1 and sim.switches == [False, True]
    assert faults.held == 15  # the deepest outbox seen while cut (at 10 and 15 s), not after


def test_a_gap_counts_only_while_airborne_and_end_restores_what_a_window_left_off() -> None:
    radio, sim, agent = Radio(), Sim(), Agent()
    faults = PatrolFaults(sim, radio, Window.model_validate("0:100"), Window.model_validate("0:100"))
    agent.frame_age_s = 4.0
    faults.tick(1.0, agent, airborne=True)
    agent.frame_age_s = 60.0  # on the ground the simulated camera sends nothing: not a gap
    faults.tick(2.0, agent, airborne=False)
    assert faults.longest_gap_s == 4.0 and not radio.up and sim.camera_off
    faults.end()
    assert radio.up and not sim.camera_off


def test_the_summary_says_what_each_fault_did_and_nothing_of_faults_not_asked_for() -> None:
    radio, sim, agent = Radio(), Sim(), Agent()
    faults = PatrolFaults(sim, radio, Window.model_validate("5:9"), Window.model_validate("20:27"), 2.0, 0.5)
    assert faults.announce() == (
        "camera faults: 2 % of frames lost, 0.5 % sent corrupt, off from 20 s to 27 s of the patrol"
    )
    agent.depth, agent.frame_age_s = 7, 7.4
    faults.tick(6.0, agent, airborne=True)
    faults.end()
    radio_line, camera_line = faults.summary(agent)
    assert radio_line == (
        "radio link cut 1 time(s), 5-9 s of the patrol: up to 7 alert message(s) waited on the "
        "drone; 0 left in its outbox at the end"
    )
    assert camera_line == (
        "camera faults: the simulator lost 3 frame(s) and sent 4 corrupt; the edge skipped 5 "
        "frame(s) and detected the other 90; camera off 20-27 s of the patrol: the edge had no "
        "frame for up to 7 s and reconnected 1 time(s)"
    )
    assert PatrolFaults(Sim()).summary(agent) == []
    assert not PatrolFaults(Sim()).camera
    assert PatrolFaults(Sim()).announce() == ""
    only_frames = PatrolFaults(Sim(), frame_loss_pct=5.0)  # no blackout: nothing of one is said
    assert only_frames.camera
    assert only_frames.announce() == "camera faults: 5 % of frames lost, 0 % sent corrupt"
    assert len(only_frames.summary(agent)) == 1 and "camera off" not in only_frames.summary(agent)[0]
