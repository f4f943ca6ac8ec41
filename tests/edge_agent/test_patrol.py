"""The whole capability: real SITL + camera feed + shipped model + real Mosquitto, one short patrol.

Scored against the feed's ground truth: one alert id per detected item (alerts per item <= 1.02),
no alert on a distractor, every alert within tolerance of where its item really was. Recall of
the shipped model is measured and printed, not asserted (the model is still being retrained).

Threshold: the model's own operating threshold (chosen by ``models.build`` on alert-level
validation patrols, see MODEL_CARD.md), as a drone would fly it.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from contract import topics
from contract.messages import Alert, AlertEvent, Telemetry
from edge.agent import EdgeAgent
from edge.settings import EdgeSettings
from tests.edge_agent.patrol import nearest
from tests.edge_alerts.mqtt_helpers import Collector

#: An alert farther than this from every truth position of its item is a wrong position.
POSITION_TOLERANCE_M = 5.0
SCORE_THRESHOLD = None  # the model's own


def test_patrol_one_alert_per_detected_item_none_for_distractors(mosquitto, tmp_path, patrol_factory):
    patrol = patrol_factory(seed=21, n_debris=16, n_distractors=10)
    alerts_sub = Collector(mosquitto.port, topics.fleet_filter(topics.ALERTS))
    telemetry_sub = Collector(mosquitto.port, topics.fleet_filter(topics.TELEMETRY))
    settings = EdgeSettings(
        mavlink=patrol.mavlink,
        camera=patrol.camera,
        broker_port=mosquitto.port,
        outbox_path=tmp_path / "outbox.db",
        drone_id="d1",
        mission_id="patrol-1",
        score_threshold=SCORE_THRESHOLD,
    )
    agent = EdgeAgent(settings).start()
    started = time.monotonic()
    try:
        patrol.fly()
    finally:
        agent.stop()
    wall = time.monotonic() - started
    status = agent.status()
    assert status.frames >= 40, status
    assert agent.pipeline.stats.skipped["no_pose"] == 0
    assert agent.outbox_depth_at_stop == 0
    counts = {
        k: agent.registry.get_sample_value("riverpatrol_edge_tracker", {"kind": k})
        for k in ("sightings", "tracks_confirmed", "renamed_by_closer_look")
    }
    assert counts["sightings"] == agent.tracker.stats.sightings > 0  # the tracker's counts, read live
    assert counts["tracks_confirmed"] >= 1 and counts["renamed_by_closer_look"] == 0  # one height only

    alerts = [Alert.model_validate_json(p) for p in alerts_sub.payloads()]
    assert len({(a.alert_id, a.revision) for a in alerts}) == len(alerts), "duplicate alert revisions"
    by_id: dict = {}
    for a in alerts:
        by_id.setdefault(a.alert_id, []).append(a)
    seen = patrol.seen_items()
    distractors = patrol.distractor_positions()
    item_of: dict = {}
    wrong: list[str] = []
    errors_m: list[float] = []
    for alert_id, revs in by_id.items():
        assert revs[0].event == AlertEvent.NEW and revs[0].revision == 0
        assert revs[-1].event == AlertEvent.END, "every item ends by the time the agent stops"
        item, d_item = nearest(revs[-1], seen)
        distractor, d_distractor = nearest(revs[-1], distractors)
        if d_item <= POSITION_TOLERANCE_M:
            item_of[alert_id] = item
            errors_m.append(round(d_item, 2))
        else:
            kind = patrol.kind_of(distractor) if d_distractor <= POSITION_TOLERANCE_M else "nothing"
            wrong.append(
                f"alert {alert_id} ({revs[-1].debris_class}, score {revs[-1].track.top_score:.2f}) is "
                f"{d_item:.1f} m from the nearest debris item, {d_distractor:.1f} m from a {kind}"
            )
    per_item = Counter(item_of.values())
    detected = len(per_item)
    alerts_per_item = len(item_of) / detected if detected else 0.0
    print(
        json.dumps(
            {
                "frames": status.frames,
                "items_in_view": len(seen),
                "items_alerted": detected,
                "recall": round(detected / len(seen), 3),
                "alert_ids": len(by_id),
                "alert_messages": len(alerts),
                "alerts_per_item": alerts_per_item,
                "position_error_m": errors_m,
                "wrong": wrong,
            }
        )
    )
    assert not wrong, wrong
    assert detected >= 1, "the patrol produced no alert at all"
    assert alerts_per_item <= 1.02, per_item
    tele = [Telemetry.model_validate_json(p) for p in telemetry_sub.payloads()]
    assert tele, "no telemetry summary published"
    assert len(tele) >= 0.5 * wall, f"{len(tele)} telemetry summaries in {wall:.0f} s (1 Hz wanted)"
    assert all(t.drone_id == "d1" for t in tele)
    assert [t.alerts_this_flight for t in tele] == sorted(t.alerts_this_flight for t in tele)
    assert tele[-1].alerts_this_flight <= agent.alerts_this_flight
    assert max(t.alt_rel_m for t in tele) > patrol.cfg.alt - 2
    assert any(t.camera == "ok" and (t.detect_fps or 0) > 0 for t in tele)  # the dashboard's camera column
    assert tele[-1].board_id == f"{0x5250_0000 + 1:016x}"  # the simulator's board: which vehicle it rides
    alerts_sub.close()
    telemetry_sub.close()
