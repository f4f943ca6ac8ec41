"""``riverpatrol gcs alerts``: what the relay received, read offline from its outbox, whole in a log."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ground_station.cli import app
from ground_station.relay.outbox import RelayOutbox
from tests.gcs_relay.conftest import make_alert


def _outbox(path: Path, n: int, delivered: int = 0) -> list[dict]:
    """``n`` alerts received, the first ``delivered`` of them acknowledged by the cloud."""
    box = RelayOutbox(path)
    sent = []
    for i in range(n):
        a = json.loads(make_alert(i, drone="drone-with-a-long-name" if i % 2 else "d1").model_dump_json())
        assert box.put(a, json.dumps(a))
        sent.append(a)
    box.delivered([p.seq for p in box.pending(delivered)] if delivered else [])
    box.close()
    return sent


def test_the_table_in_a_log_keeps_ids_positions_and_times_whole_and_filters_work(tmp_path: Path) -> None:
    db = tmp_path / "relay.db"
    sent = _outbox(db, 5, delivered=3)
    run = CliRunner().invoke(app, ["alerts", "--db", str(db)])  # not a terminal: rich would cut to 80
    assert run.exit_code == 0, run.output
    assert "5 recent alert(s)" in run.stdout
    for a in sent:
        row = next(line for line in run.stdout.splitlines() if a["alert_id"][:8] in line)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells[:5] == [a["alert_id"][:8], "bottle", f"{a['lat']:.6f}", f"{a['lon']:.6f}",
                             a["captured_at"][5:19].replace("T", " ")]  # fmt: skip
        assert cells[-1] == a["drone_id"] and cells[5] == f"{a['confidence']:.3f}"
        assert cells[-2] == ("yes" if sent.index(a) < 3 else "waiting")  # reached the cloud, or not yet
    only = CliRunner().invoke(app, ["alerts", "--db", str(db), "--drone", "d1", "--json", "--limit", "2"])
    lines = [json.loads(x) for x in only.stdout.splitlines()]
    assert [x["drone_id"] for x in lines] == ["d1", "d1"] and all("thumbnail_jpeg" not in x for x in lines)
    assert [x["alert_id"] for x in lines] == [sent[4]["alert_id"], sent[2]["alert_id"]]  # newest first


def test_no_database_and_an_unknown_id_say_so(tmp_path: Path) -> None:
    run = CliRunner().invoke(app, ["alerts", "--db", str(tmp_path / "none.db")])
    assert run.exit_code == 3 and "has `riverpatrol gcs relay` run here?" in " ".join(run.output.split())
    _outbox(tmp_path / "relay.db", 1)
    run = CliRunner().invoke(app, ["alerts", "--db", str(tmp_path / "relay.db"), "--show", "ffff"])
    assert run.exit_code == 3 and "no alert with id starting 'ffff'" in run.output
    for wild in ("%", "_"):  # an id's characters, not a pattern: the one alert is not "any"
        run = CliRunner().invoke(app, ["alerts", "--db", str(tmp_path / "relay.db"), "--show", wild])
        assert run.exit_code == 3, run.output


def test_the_refused_payloads_are_kept_capped_and_listed_with_why(tmp_path: Path, monkeypatch) -> None:
    """What the relay refused is kept with why, newest first in ``--rejected``; a publisher sending
    garbage without end keeps only the newest ``MAX_REJECTED``, and a huge payload its first bytes."""
    from ground_station.relay import outbox

    monkeypatch.setattr(outbox, "MAX_REJECTED", 3)
    monkeypatch.setattr(outbox, "MAX_REJECTED_BYTES", 1000)
    db = tmp_path / "relay.db"
    box = RelayOutbox(db)
    topic = "riverpatrol/v1/d1/alerts"
    box.keep_rejected([(topic, f"junk {i}".encode(), "payload: Invalid JSON") for i in range(4)])
    box.keep_rejected([(topic, b"x" * 5000, "payload: Invalid JSON")])
    kept = box.rejected()
    box.close()
    assert [r.payload[:6] for r in kept] == [b"junk 2", b"junk 3", b"x" * 6]  # the newest 3
    assert len(kept[-1].payload) == 1000 and kept[-1].reason.endswith("kept its first 1,000 of 5,000 bytes")
    monkeypatch.setattr(outbox, "MAX_REJECTED_TOTAL", 1010)  # and this many bytes in all (1,012 kept)
    box = RelayOutbox(db)
    box.keep_rejected([])
    assert [len(r.payload) for r in box.rejected()] == [6, 1000]  # the oldest went first
    box.close()
    monkeypatch.setattr(outbox, "MAX_REJECTED_TOTAL", 100 << 20)
    run = CliRunner().invoke(app, ["alerts", "--db", str(db), "--rejected", "--json"])
    assert run.exit_code == 0, run.output
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    assert [(x["payload"][:6], x["bytes"]) for x in lines] == [("x" * 6, 1000), ("junk 3", 6)]
    table = CliRunner().invoke(app, ["alerts", "--db", str(db), "--rejected"])
    assert "2 refused payload(s) kept" in table.stdout and "payload: Invalid JSON" in table.stdout


def test_an_alert_the_cloud_refused_says_so_and_why(tmp_path: Path) -> None:
    """Not "waiting": the cloud answered, and the operator reads its answer and when it is tried again."""
    db = tmp_path / "relay.db"
    sent = _outbox(db, 3, delivered=1)
    box = RelayOutbox(db)
    parked = next(p for p in box.pending(10) if p.alert_id == sent[2]["alert_id"])
    box.dead_letter(parked, "HTTP 422: alerts[0].sun_glare: Extra inputs are not permitted")
    box.close()
    cfg = tmp_path / "gcs.toml"
    cfg.write_text("[gcs]\nrelay_refused_retry_h = 2\n")
    run = CliRunner().invoke(app, ["alerts", "--db", str(db), "--config", str(cfg)])
    assert run.exit_code == 0, run.output
    state = {
        a["alert_id"][:8]: next(x for x in run.stdout.splitlines() if a["alert_id"][:8] in x) for a in sent
    }
    assert [state[a["alert_id"][:8]].split("│")[-3].strip() for a in sent] == ["yes", "waiting", "refused"]
    why = " ".join(run.stdout.split())
    assert (
        f"{sent[2]['alert_id'][:8]} rev 0: the cloud refused it (HTTP 422: alerts[0].sun_glare: Extra inputs"
        " are not permitted); offered again every 2 h and at the relay's start" in why
    )
    one = CliRunner().invoke(app, ["alerts", "--db", str(db), "--show", sent[2]["alert_id"][:8].upper()])
    assert json.loads(one.stdout)["alert_id"] == sent[2]["alert_id"]
    assert "the cloud refused it (HTTP 422" in one.stderr and "every 6 h" in one.stderr
