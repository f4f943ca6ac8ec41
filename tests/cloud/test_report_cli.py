"""``riverpatrol cloud report``: a period's figures and its orders' spreadsheet, from a real database."""

from __future__ import annotations

import csv
import json

from typer.testing import CliRunner

from cloud.cli import app
from tests.cloud.factory import INSPECTOR_TOKENS, alert, jpeg


def _report(*args: str):
    return CliRunner().invoke(app, ["report", *args])


def test_the_report_shows_each_stretch_and_inspector_and_writes_the_orders(
    db_url, make_server, tmp_path
) -> None:
    srv = make_server(db_url=db_url)
    a, b, c = (
        alert(),
        alert(drone="d2", lat=22.5207, lon=114.0660),
        alert(drone="d3", cls="foam", lat=0.0, lon=0.0),
    )
    with srv.client() as station:
        assert station.post("/api/v1/alerts", json=[a, b, c]).status_code == 200
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice, srv.client(INSPECTOR_TOKENS["bob"]) as bob:
        wo = "/api/v1/workorders/"
        assert alice.post(f"{wo}{a['alert_id']}/claim", json={}).status_code == 200
        assert alice.post(f"{wo}{a['alert_id']}/clear", json={"photo_jpeg": jpeg(3)}).status_code == 200
        assert bob.post(f"{wo}{b['alert_id']}/claim", json={}).status_code == 200
        assert bob.post(f"{wo}{b['alert_id']}/release", json={"note": "要船"}).status_code == 200
        assert alice.post(f"{wo}{c['alert_id']}/claim", json={}).status_code == 200
        r = alice.post(f"{wo}{c['alert_id']}/clear", json={"outcome": "false_alarm", "note": "白鹭 (egret)"})
        assert r.status_code == 200, r.text
        segment = alice.get(f"{wo}{a['alert_id']}").json()["segment_id"]

    r = _report("--db", db_url, "--json")
    assert r.exit_code == 0, r.output
    st = json.loads(r.stdout)
    assert (st["finds"], st["unmapped_finds"], st["false_alarm_reasons"]) == (3, 1, {"白鹭 (egret)": 1})
    seg = st["per_segment"][segment]
    assert (seg["finds"], seg["cleared"], seg["open"], seg["unclaimed"]) == (2, 1, 1, 1)
    alice, bob = st["per_inspector"]["alice"], st["per_inspector"]["bob"]
    assert (alice["claimed"], alice["cleared"], alice["false_alarms"], alice["holding"]) == (2, 1, 1, 0)
    assert (bob["claimed"], bob["handed_back"], bob["cleared"]) == (1, 1, 0)

    r = _report("--db", db_url, "--orders-csv", str(tmp_path / "orders.csv"))
    assert r.exit_code == 0, r.output
    for text in (
        "Per stretch (1 flown or with finds, of",
        "Per inspector (2)",
        "What the false alarms were",
        "白鹭 (egret)",
    ):
        assert text in r.stdout, r.stdout
    assert "wrote 3 work order(s)" in r.stderr
    raw = (tmp_path / "orders.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel then reads the Chinese right
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    by_id = {row["id"]: row for row in rows}
    assert by_id[a["alert_id"]]["status"] == "cleared" and by_id[a["alert_id"]]["closed_by"] == "alice"
    assert by_id[a["alert_id"]]["cleared_photo"].endswith(".jpg")
    assert by_id[b["alert_id"]]["status"] == "new" and by_id[b["alert_id"]]["assignee"] == ""
    assert by_id[c["alert_id"]]["note"] == "白鹭 (egret)" and by_id[c["alert_id"]]["stretch"] == ""

    future = _report("--db", db_url, "--since", "2999-01-01", "--json")
    assert future.exit_code == 0 and json.loads(future.stdout)["finds"] == 0
    whole_day = _report("--db", db_url, "--until", "2999-01-01", "--json")  # to the end of that day
    assert json.loads(whole_day.stdout)["finds"] == 3
    bad = _report("--db", db_url, "--since", "last tuesday")
    assert bad.exit_code == 2 and "--since: 'last tuesday' is neither a date" in bad.output
    both = _report("--db", db_url, "--since", "2026-01-01", "--days", "7")
    assert both.exit_code == 2 and "--since or --days" in both.output
    if db_url.startswith("sqlite"):  # a wrong path is an error, not an empty database and a report of nothing
        nowhere = tmp_path / "nowhere" / "cloud.db"
        wrong = _report("--db", f"sqlite:///{nowhere}")
        assert wrong.exit_code == 3 and f"no database at {nowhere}" in wrong.output and not nowhere.exists()


def test_periods_are_local_days_and_durations_read_as_an_office_says_them() -> None:
    from datetime import UTC, datetime

    from cloud.report import duration, parse_bound

    shanghai = "Asia/Shanghai"  # UTC+8: a local day starts at 16:00 UTC the day before
    assert (
        parse_bound("2026-11-01", shanghai, "--since") == datetime(2026, 10, 31, 16, tzinfo=UTC).timestamp()
    )
    assert (
        parse_bound("2026-11-30", shanghai, "--until", end=True)
        == datetime(2026, 11, 30, 16, tzinfo=UTC).timestamp()
    )
    assert (
        parse_bound("2026-11-01T08:00", shanghai, "--since")
        == datetime(2026, 11, 1, 0, tzinfo=UTC).timestamp()
    )
    assert (
        parse_bound("2026-11-01T08:00Z", shanghai, "--since")
        == datetime(2026, 11, 1, 8, tzinfo=UTC).timestamp()
    )
    assert [duration(s) for s in (None, 0, 2400, 3 * 3600 + 300, 50 * 3600)] == [
        "-", "0 min", "40 min", "3 h 05 min", "2 d 2 h",
    ]  # fmt: skip
