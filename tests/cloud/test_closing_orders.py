"""Closing work orders: the inspector's photo of the cleared spot, kept and served; claims left open."""

from __future__ import annotations

import base64
import time

import httpx

from tests.cloud.factory import INSPECTOR_TOKENS, alert, jpeg
from tests.cloud_sync.helpers import Recorder, wait_for
from tests.conftest import free_port


def test_a_cleared_spot_keeps_the_inspectors_photo_and_bad_photos_are_named(make_server, db_url) -> None:
    srv = make_server(db_url=db_url, max_photo_bytes=8192)
    with srv.client() as station:
        a, b = alert(), alert(drone="d2", lat=22.53, lon=114.08)
        assert station.post("/api/v1/alerts", json=[a, b]).status_code == 200
    wo = a["alert_id"]
    photo = jpeg(7, size=64)
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        assert alice.post(f"/api/v1/workorders/{wo}/claim", json={}).status_code == 200
        r = alice.post(f"/api/v1/workorders/{wo}/clear", json={"photo_jpeg": photo})
        assert r.status_code == 200, r.text
        url = r.json()["cleared_photo"]
        assert r.json()["status"] == "cleared" and url.startswith("/api/v1/thumbnails/")
        got = alice.get(url)
        assert got.headers["content-type"] == "image/jpeg" and got.content == base64.b64decode(photo)
        feature = alice.get(f"/ogc/collections/debris/items/{wo}").json()
        assert feature["properties"]["cleared_photo"].endswith(url)
        assert feature["properties"]["cleared_by"] == "alice"

        # the answer was lost and the phone sends it again: one clear, one photo
        again = alice.post(f"/api/v1/workorders/{wo}/clear", json={"photo_jpeg": photo})
        assert again.status_code == 200 and again.json()["cleared_photo"] == url
        history = alice.get(f"/api/v1/workorders/{wo}").json()["history"]
        assert [h["action"] for h in history] == ["claim", "clear"]

        other = f"/api/v1/workorders/{b['alert_id']}"
        big = base64.b64encode(b"\xff\xd8\xff" + bytes(9000)).decode()
        for action, body, why in (
            ("claim", {"photo_jpeg": photo}, "photo_jpeg goes with clear, not with claim"),
            ("clear", {"photo_jpeg": "not a photo!"}, "photo_jpeg: not valid base64"),
            ("clear", {"photo_jpeg": base64.b64encode(b"\x89PNG\r\n").decode()}, "photo_jpeg: not a JPEG"),
            ("clear", {"photo_jpeg": big}, "photo_jpeg: 9003 bytes exceeds the limit of 8192"),
        ):
            r = alice.post(f"{other}/{action}", json=body)
            assert r.status_code == 422 and why in r.text, (why, r.text)
        r = alice.post(f"{other}/reject", json={"note": "x" * 2001})  # a note, not a document
        assert r.status_code == 422 and "note" in r.text, r.text
        assert alice.get(other).json()["status"] == "new"  # nothing moved
        assert alice.post(f"{other}/claim", json={}).status_code == 200
        r = alice.post(f"{other}/clear", json={"outcome": "false_alarm"})  # a photo is never required
        assert r.status_code == 200 and r.json()["cleared_photo"] is None
    assert httpx.get(f"{srv.url}/api/v1/thumbnails/{'0' * 64}.jpg").status_code == 404


def test_the_paging_worker_sees_the_servers_open_orders_and_when_each_began_to_wait(
    make_server, db_url
) -> None:
    """The paging worker's view of the store (open orders, their waits, their finds) on a real server."""
    apps: list = []
    srv = make_server(db_url=db_url, before_start=apps.append)
    with srv.client() as station:
        a, b, c = alert(), alert(drone="d2", lat=22.53, lon=114.08), alert(drone="d3", lat=22.54, lon=114.09)
        assert station.post("/api/v1/alerts", json=[a, b, c]).status_code == 200
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        for x in (a, b, c):
            assert alice.post(f"/api/v1/workorders/{x['alert_id']}/claim", json={}).status_code == 200
        assert alice.post(f"/api/v1/workorders/{b['alert_id']}/release", json={}).status_code == 200
        assert alice.post(f"/api/v1/workorders/{c['alert_id']}/clear", json={}).status_code == 200
    notify = apps[0].state.notify
    orders = {o["id"]: o for o in notify.open_orders()}
    assert set(orders) == {a["alert_id"], b["alert_id"]}  # the cleared one is no one's business now
    claim, back = orders[a["alert_id"]], orders[b["alert_id"]]
    assert (claim["assignee"], claim["status"], claim["open_since"]) == (
        "alice",
        "dispatched",
        claim["created_at"],
    )
    assert (back["assignee"], back["status"]) == (None, "new")
    released = apps[0].state.store.workorder_history(b["alert_id"])[-1]
    assert released["action"] == "release"
    assert back["open_since"] == released["at"] > back["created_at"]  # waiting since the hand-back
    feature = notify.item_feature(claim["id"])
    assert feature["id"] == a["alert_id"] and feature["properties"]["class"] == "bottle"
    assert notify.item_feature("no-such-order") is None


def test_a_closed_finds_photos_are_dropped_after_the_retention_time_and_the_find_stays(
    make_server, db_url
) -> None:
    srv = make_server(db_url=db_url)  # the default: a year after closing
    with srv.client() as station:
        a, b = alert(thumb_seed=21), alert(thumb_seed=22, drone="d2", lat=22.53, lon=114.08)
        assert station.post("/api/v1/alerts", json=[a, b]).status_code == 200
    wo = a["alert_id"]
    with srv.client(INSPECTOR_TOKENS["alice"]) as alice:
        assert alice.post(f"/api/v1/workorders/{wo}/claim", json={}).status_code == 200
        done = alice.post(f"/api/v1/workorders/{wo}/clear", json={"photo_jpeg": jpeg(23, size=64)}).json()
        found = alice.get(f"/ogc/collections/debris/items/{wo}").json()["properties"]
        urls = [found["thumbnail"], done["cleared_photo"]]
        assert all(alice.get(u).status_code == 200 for u in urls)
    srv.__exit__()

    cim = Recorder(free_port())  # the city's CIM platform, fed by the webhook connector
    cim.start()
    hook = {"geojson_webhook_url": f"http://127.0.0.1:{cim.port}/cim", "backoff_base_s": 0.05}
    later = make_server(db_url=db_url, photo_retention_days=1e-6, sync=hook)  # ~0.1 s: due at start-up
    with later.client(INSPECTOR_TOKENS["alice"]) as alice:
        deadline = time.monotonic() + 10
        while alice.get(urls[0]).status_code != 404:
            assert time.monotonic() < deadline, "the cleared find's picture was not dropped"
            time.sleep(0.05)
        assert alice.get(urls[1]).status_code == 404
        props = alice.get(f"/ogc/collections/debris/items/{wo}").json()["properties"]
        assert props["thumbnail"] is None and props["cleared_photo"] is None
        assert props["status"] == "cleared" and props["cleared_by"] == "alice"  # the find itself stays
        still_open = alice.get(f"/ogc/collections/debris/items/{b['alert_id']}").json()["properties"]
        assert still_open["thumbnail"] and alice.get(still_open["thumbnail"]).status_code == 200
        metrics = httpx.get(f"{later.url}/metrics").text
        assert "riverpatrol_cloud_photos_expired_total 2.0" in metrics
    try:  # the CIM's copy of the find loses the dead links too
        wait_for(lambda: len(cim.received) == 1, what="the find's update at the CIM")
    finally:
        cim.stop()
    (update,) = cim.received
    assert update["event"] == "alert.updated" and update["feature"]["id"] == wo
    assert update["feature"]["properties"]["thumbnail"] is None
    assert update["feature"]["properties"]["cleared_photo"] is None


def test_retention_counts_what_it_dropped_and_announces_each_find_it_changed() -> None:
    from prometheus_client import CollectorRegistry

    from cloud.retention import DAY_S, PhotoRetention

    asked: list[float] = []
    announced: list[list[str]] = []

    def expire(closed_before: float) -> tuple[int, int, list[str]]:
        asked.append(closed_before)
        return (3, 4096, ["a1", "a2"]) if len(asked) == 1 else (0, 0, [])

    reg = CollectorRegistry()
    keeper = PhotoRetention(expire, announced.append, 30.0, reg, clock=lambda: 100 * DAY_S)
    assert keeper.run_once() == (3, 4096) and keeper.run_once() == (0, 0)
    assert asked == [70 * DAY_S, 70 * DAY_S] and announced == [["a1", "a2"], []]
    assert reg.get_sample_value("riverpatrol_cloud_photos_expired_total") == 3
    assert reg.get_sample_value("riverpatrol_cloud_photo_bytes_expired_total") == 4096


def test_the_photos_command_weighs_a_retention_without_dropping_anything(store, db_url) -> None:
    from typer.testing import CliRunner

    from cloud.workorders import Command, decide
    from riverpatrol.cli import app
    from tests.cloud.test_storage import POLICY, prep

    now = time.time()
    old, recent = alert(thumb_seed=31), alert(thumb_seed=32, lat=22.53)
    store.ingest(prep([old, recent]), POLICY, now - 20 * 86400)
    for a, closed in ((old, now - 10 * 86400), (recent, now - 2 * 86400)):
        cmd = Command("reject", "alice", closed)
        store.apply_transition(a["alert_id"], lambda o, c=cmd: decide(o, c), closed)
    sha = store.get_item(old["alert_id"])["thumbnail_sha"]

    def weigh(*args: str) -> str:
        res = CliRunner().invoke(app, ["cloud", "photos", "--db", db_url, *args])
        assert res.exit_code == 0, res.output
        return " ".join(res.output.split())

    assert "would drop 1 picture(s)" in weigh("--days", "5") and "of 1 find(s)" in weigh("--days", "5")
    assert "would drop 2 picture(s)" in weigh("--days", "1")
    assert "would drop 0 picture(s)" in weigh()  # the setting: a year
    assert "retention is off" in weigh("--days", "0")
    assert store.get_thumbnail(sha) is not None  # a dry run: all still there
    assert store.get_item(old["alert_id"])["thumbnail_sha"] == sha
