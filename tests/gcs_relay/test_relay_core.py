"""Pure parts of the relay: HTTP verdicts, backoff bounds, the SQLite outbox."""

from __future__ import annotations

import json
import random
from pathlib import Path

from ground_station.relay.backoff import backoff_delay
from ground_station.relay.broker_config import mosquitto_conf
from ground_station.relay.forwarder import Verdict, classify
from ground_station.relay.outbox import RelayOutbox
from ground_station.relay.service import parse_alert
from tests.gcs_relay.conftest import make_alert


def test_classify_http_answers() -> None:
    assert classify(200, 10) is Verdict.DELIVERED
    assert classify(None, 10) is Verdict.RETRY  # connection refused / timeout
    assert classify(503, 10) is Verdict.RETRY
    assert classify(401, 10) is Verdict.RETRY  # a token problem is fixed by an operator, not by dropping
    assert classify(429, 1) is Verdict.RETRY
    assert classify(422, 10) is Verdict.SPLIT
    assert classify(422, 1) is Verdict.REJECT


def test_backoff_grows_and_is_capped() -> None:
    rng = random.Random(1)
    assert backoff_delay(0) == 0.0
    for attempt in range(1, 20):
        d = backoff_delay(attempt, base_s=0.5, cap_s=8.0, rng=rng)
        assert 0.0 <= d <= min(8.0, 0.5 * 2 ** (attempt - 1))
    big = [backoff_delay(10, 0.5, 8.0, rng) for _ in range(200)]
    assert max(big) > 6.0 and min(big) < 2.0  # full jitter spreads over the whole window


def _put(box: RelayOutbox, i: int, revision: int = 0) -> bool:
    a = json.loads(make_alert(i, revision=revision).model_dump_json())
    return box.put(a, json.dumps(a))


def test_outbox_dedups_orders_and_survives_reopen(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    assert _put(box, 1) and _put(box, 2) and _put(box, 1, revision=1)
    assert not _put(box, 1)  # QoS 1 redelivery of the same (id, revision)
    assert [(p.alert_id[-4:], p.revision) for p in box.pending(10)] == [
        (p.alert_id[-4:], p.revision) for p in box.pending(10)
    ]
    revs = [p.revision for p in box.pending(10)]
    assert revs == [0, 0, 1]
    first = box.pending(1)
    box.delivered([first[0].seq])
    box.close()

    again = RelayOutbox(db)  # as after kill -9: what was not acknowledged is still there, in order
    left = again.pending(10)
    assert len(left) == 2 and left[0].seq < left[1].seq
    b = again.backlog()
    assert b.count == 2 and b.delivered == 1 and b.oldest_age_s is not None
    again.dead_letter(left[0], "HTTP 422: alerts[0].lat")
    assert again.backlog().dead_letters == 1 and again.backlog().count == 1
    recent = again.recent_alerts()
    assert {r["revision"] for r in recent} == {0, 1}  # latest revision per alert is kept for `gcs alerts`
    again.close()


def test_parse_alert_names_the_bad_field() -> None:
    good = make_alert(3).model_dump_json().encode()
    assert parse_alert(good)[0] is not None
    bad = json.loads(good)
    bad["lat"] = 123.0
    alert, why = parse_alert(json.dumps(bad).encode())
    assert alert is None and why is not None and why.startswith("lat:")
    alert, why = parse_alert(b"\xff\x00not json")
    assert alert is None and why


def test_broker_config_keeps_queued_qos1(tmp_path: Path) -> None:
    conf = mosquitto_conf(1883, tmp_path)
    assert "max_queued_messages 0" in conf and "persistence true" in conf
    assert f"persistence_location {tmp_path.as_posix()}/" in conf


def test_outbox_forgets_only_old_delivered_alerts(tmp_path: Path) -> None:
    box = RelayOutbox(tmp_path / "relay.db")
    assert _put(box, 1) and _put(box, 2) and _put(box, 3)  # captured yesterday 08:00:01..03 UTC
    box.delivered([p.seq for p in box.pending(10) if p.alert_id in _ids(1, 2)])
    assert _put(box, 2, revision=1)  # alert 2 has news the cloud has not had yet
    captured = make_alert(2).captured_at.timestamp()

    assert box.forget_delivered(older_than_s=3600, now=captured + 1800) == 0  # not old enough
    assert box.forget_delivered(older_than_s=3600, now=captured + 7200) == 1  # 1 only
    left = {a["alert_id"] for a in box.recent_alerts(10)}
    assert left == _ids(2, 3)  # 2 waits for the cloud, 3 was never delivered
    assert [p.revision for p in box.pending(10)] == [0, 1]
    assert _put(box, 1)  # sent again by the fleet: relayed again (the cloud absorbs the repeat)


def _ids(*ii: int) -> set[str]:
    return {str(make_alert(i).alert_id) for i in ii}
