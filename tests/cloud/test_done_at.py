"""Work-order actions a phone queued without signal: sent later, with when they were done; retried safely."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.cloud.factory import INSPECTOR_TOKENS, alert


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def test_done_at_is_kept_and_a_retried_action_makes_no_second_move(make_server, db_url) -> None:
    srv = make_server(db_url=db_url)
    with srv.client() as station:
        a, b = alert(), alert(drone="d2", lat=22.53, lon=114.08)
        assert station.post("/api/v1/alerts", json=[a, b]).status_code == 200
    wo = a["alert_id"]
    time.sleep(1.5)
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        done = time.time() - 1.0  # claimed a second ago on the riverbank, after the find came in; sent now
        r = alice.post(f"/api/v1/workorders/{wo}/claim", json={"done_at": _iso(done)})
        assert r.status_code == 200, r.text
        recorded = datetime.fromisoformat(r.json()["dispatched_at"]).timestamp()
        assert recorded == pytest.approx(done, abs=0.001) and recorded < time.time() - 0.9

        # the answer was lost: the phone sends it again, and nothing moves twice
        again = alice.post(f"/api/v1/workorders/{wo}/claim", json={"done_at": _iso(done)})
        assert again.status_code == 200 and again.json()["status"] == "dispatched"
        history = alice.get(f"/api/v1/workorders/{wo}").json()["history"]
        assert [h["action"] for h in history] == ["claim"]

        for bad, why in (
            (_iso(time.time() + 3600), "is in the future"),
            (_iso(time.time() - 8 * 86400), "more than 7 days ago"),
            ((datetime.now() - timedelta(minutes=1)).isoformat(), "needs a time zone"),
        ):
            r = alice.post(f"/api/v1/workorders/{b['alert_id']}/claim", json={"done_at": bad})
            assert r.status_code == 422 and why in r.text, r.text
        order_b = alice.get(f"/api/v1/workorders/{b['alert_id']}").json()
        assert order_b["status"] == "new"
        # a phone clock behind (or a queue older than the find): recorded when the order last changed
        r = alice.post(f"/api/v1/workorders/{b['alert_id']}/claim", json={"done_at": _iso(time.time() - 600)})
        assert r.status_code == 200 and r.json()["dispatched_at"] == order_b["created_at"]
    with srv.client(INSPECTOR_TOKENS["bob"]) as bob:  # someone else's claim is a conflict, not a retry
        assert bob.post(f"/api/v1/workorders/{wo}/claim", json={}).status_code == 409
