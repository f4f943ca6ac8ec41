"""An inspector asks for a closer look at a find; the station that relayed it reads the request;
a later view of the item closes it. Storage against SQLite and PostgreSQL, the API over HTTP."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cloud.storage.items import LookRefused
from cloud.workorders import Command, decide
from contract.messages import LookRequests
from tests.cloud.factory import INSPECTOR_TOKENS, T0, alert
from tests.cloud.test_api import _Collector, _wait_for
from tests.cloud.test_storage import POLICY, prep


def test_a_look_is_asked_once_and_done_only_by_a_photo_taken_after_the_station_read_it(store) -> None:
    a = alert()
    aid = a["alert_id"]
    store.ingest(prep([a]), POLICY, 1.0)
    asked_at = (T0 + timedelta(minutes=5)).timestamp()
    item, fresh = store.ask_look(aid, "alice", "bag or foam?", asked_at)
    assert fresh and (item["look_asked_by"], item["look_note"], item["look_done_at"]) == (
        "alice",
        "bag or foam?",
        None,
    )
    item, fresh = store.ask_look(aid, "bob", "", asked_at + 60)  # already open: alice's stays
    assert not fresh and (item["look_asked_by"], item["look_asked_at"]) == ("alice", asked_at)
    assert [r["alert_id"] for r in store.open_looks("gs1")] == [aid]
    assert store.open_looks("gs2") == []  # another station relayed none of it
    # the patrol, still over it when the inspector asked, sends its own better view: not the look
    early = alert(alert_id=aid, revision=1, at=T0 + timedelta(minutes=5, seconds=10))
    store.ingest(prep([early], asked_at + 12), POLICY, asked_at + 12)
    assert [r["alert_id"] for r in store.open_looks()] == [aid]
    assert [r["look_seen_by"] for r in store.looks_seen([aid], "gs1", asked_at + 30)] == ["gs1"]
    assert store.looks_seen([aid], "gs1", asked_at + 60) == []  # read before: not news
    assert store.get_item(aid)["look_seen_at"] == asked_at + 30
    # an event of a view from before the request (the patrol's track, sent late) does not do it
    store.ingest(prep([alert(alert_id=aid, revision=2, at=T0 + timedelta(minutes=1))]), POLICY, asked_at + 90)
    assert [r["alert_id"] for r in store.open_looks()] == [aid]
    # nor does a pass that saw it again after the request but kept its older, better photo
    again = alert(alert_id=aid, revision=3, at=T0 + timedelta(minutes=1))
    again["track"]["last_seen"] = (T0 + timedelta(minutes=8)).isoformat()
    store.ingest(prep([again]), POLICY, asked_at + 120)
    assert [r["alert_id"] for r in store.open_looks()] == [aid]
    store.ingest(
        prep([alert(alert_id=aid, revision=4, at=T0 + timedelta(minutes=9))], asked_at + 240),
        POLICY,
        asked_at + 240,
    )
    assert store.open_looks() == []
    done = store.get_item(aid)
    assert (done["look_asked_by"], done["look_done_at"]) == ("alice", asked_at + 240)
    item, fresh = store.ask_look(aid, "bob", "still there?", asked_at + 300)  # asked anew once done
    assert fresh and (item["look_asked_by"], item["look_done_at"], item["look_seen_at"]) == (
        "bob",
        None,
        None,
    )


def test_a_look_is_refused_for_a_closed_find_and_an_unknown_one(store) -> None:
    a = alert()
    aid = a["alert_id"]
    store.ingest(prep([a]), POLICY, 1.0)
    store.ask_look(aid, "alice", "", 2.0)
    store.apply_transition(aid, lambda o: decide(o, Command("reject", "alice", 3.0)), 3.0)
    assert store.open_looks() == []  # nothing left to look at
    with pytest.raises(LookRefused, match="false_alarm"):
        store.ask_look(aid, "bob", "", 4.0)
    with pytest.raises(KeyError):
        store.ask_look("00000000-0000-4000-8000-000000000000", "bob", "", 4.0)


def _server_and_events(make_server, db_url: str) -> tuple:
    """A served cloud and every event its bus announces, as they come."""
    collectors: list[_Collector] = []

    def add_collector(app) -> None:
        collectors.append(_Collector(app.state.bus))
        app.state.services.append(collectors[-1])

    srv = make_server(db_url=db_url, before_start=add_collector)
    return srv, collectors[0].events


def test_look_api_inspector_asks_station_reads(make_server, db_url) -> None:
    srv, events = _server_and_events(make_server, db_url)
    a = alert()
    aid = a["alert_id"]
    with srv.client() as gs, srv.client(INSPECTOR_TOKENS["alice"]) as insp:
        assert gs.post("/api/v1/alerts", json=[a]).status_code == 200
        assert gs.get("/api/v1/look-requests").json() == {"items": []}
        r = insp.post(f"/api/v1/alerts/{aid}/look", json={"note": "  bag or foam?  "})
        assert r.status_code == 200, r.text
        assert (r.json()["look_asked_by"], r.json()["look_note"], r.json()["look_done_at"]) == (
            "alice",
            "bag or foam?",
            None,
        )
        _wait_for(lambda: len(events) == 2)  # the find, then the request: open pages show it live
        assert events[1]["type"] == "alert.updated" and "look_taken" not in events[1]
        assert events[1]["feature"]["properties"]["look_asked_by"] == "alice"
        assert insp.get(f"/api/v1/alerts/{aid}").json()["look_seen_at"] is None
        reqs = LookRequests.model_validate_json(gs.get("/api/v1/look-requests").content).items
        item = insp.get(f"/api/v1/alerts/{aid}").json()
        assert item["look_seen_by"] == "gs1" and item["look_seen_at"] is not None  # the receipt
        _wait_for(lambda: len(events) == 3)  # shown live; a second read is not news
        assert gs.get("/api/v1/look-requests").json()["items"][0]["alert_id"] == aid
        assert gs.get(f"/api/v1/alerts/{aid}").json()["look_seen_at"] == item["look_seen_at"]
        assert [(str(q.alert_id), q.debris_class, q.drone_id, q.asked_by, q.note) for q in reqs] == [
            (aid, "bottle", "d1", "alice", "bag or foam?")
        ]
        assert (reqs[0].lat, reqs[0].lon) == (pytest.approx(a["lat"]), pytest.approx(a["lon"]))
        assert reqs[0].last_seen == datetime.fromisoformat(a["track"]["last_seen"])  # it drifts from there
        # roles: a station does not ask, an inspector does not read the station's queue
        assert gs.post(f"/api/v1/alerts/{aid}/look").status_code == 403
        assert insp.get("/api/v1/look-requests").status_code == 403
        assert insp.post("/api/v1/alerts/00000000-0000-4000-8000-000000000000/look").status_code == 404
        r = insp.post(f"/api/v1/alerts/{aid}/look", json={"note": "x" * 501})
        assert r.status_code == 422 and "note" in r.text
        # the closer look: a view taken now closes it
        later = alert(alert_id=aid, revision=1, at=T0 + timedelta(days=3650))
        assert gs.post("/api/v1/alerts", json=[later]).status_code == 200
        assert gs.get("/api/v1/look-requests").json() == {"items": []}
        assert gs.get(f"/api/v1/alerts/{aid}").json()["look_done_at"] is not None
        _wait_for(lambda: len(events) == 4)
        assert events[3]["look_taken"] is True  # alice is paged
        assert gs.post("/api/v1/alerts", json=[{**later, "revision": 2}]).status_code == 200
        _wait_for(lambda: len(events) == 5)
        assert "look_taken" not in events[4] and len(events) == 5  # once
        assert insp.post(f"/api/v1/workorders/{aid}/reject").status_code == 200
        r = insp.post(f"/api/v1/alerts/{aid}/look")
        assert r.status_code == 409 and "false_alarm" in r.json()["detail"]
        assert "riverpatrol_cloud_looks_asked_total 1.0" in gs.get("/metrics").text


def test_the_operators_did_not_find_it_closes_the_request_and_pages_the_asker(make_server, db_url) -> None:
    srv, events = _server_and_events(make_server, db_url)
    a = alert()
    aid = a["alert_id"]
    with srv.client() as gs, srv.client(INSPECTOR_TOKENS["alice"]) as insp:
        assert gs.post("/api/v1/alerts", json=[a]).status_code == 200
        assert gs.post(f"/api/v1/alerts/{aid}/look/missed").status_code == 409  # nothing asked yet
        assert insp.post(f"/api/v1/alerts/{aid}/look", json={"note": "how big?"}).status_code == 200
        assert insp.post(f"/api/v1/alerts/{aid}/look/missed").status_code == 403  # the station's to say
        r = gs.post(f"/api/v1/alerts/{aid}/look/missed", json={"note": " drifted under the bridge "})
        assert r.status_code == 200, r.text
        got = r.json()
        assert (got["look_outcome"], got["look_answer"], got["look_seen_by"]) == (
            "not_found",
            "drifted under the bridge",
            "gs1",
        )
        assert got["look_done_at"] is not None and gs.get("/api/v1/look-requests").json() == {"items": []}
        _wait_for(lambda: len(events) == 3)
        assert events[2].get("look_missed") is True and "look_taken" not in events[2]
        later = alert(alert_id=aid, revision=1, at=T0 + timedelta(days=3650))  # a photo after: no change
        assert gs.post("/api/v1/alerts", json=[later]).status_code == 200
        assert gs.get(f"/api/v1/alerts/{aid}").json()["look_outcome"] == "not_found"
        r = insp.post(f"/api/v1/alerts/{aid}/look")  # asked anew: open again, the old answer gone
        assert (r.json()["look_outcome"], r.json()["look_answer"], r.json()["look_done_at"]) == (
            None,
            None,
            None,
        )
        assert gs.post("/api/v1/alerts/00000000-0000-4000-8000-000000000000/look/missed").status_code == 404
