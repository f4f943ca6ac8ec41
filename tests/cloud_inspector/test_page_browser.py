"""The inspectors' page in real headless Chromium at phone size against the whole cloud app."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urljoin

import cv2
import httpx
import numpy as np
import pytest

from tests.cloud_inspector.support import INSPECTOR_TOKENS, STATION_TOKEN, alert, app, jpeg
from tests.cloud_sync.helpers import UvicornThread
from tests.conftest import free_port

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def cloud(tmp_path: Path):
    port = free_port()
    with UvicornThread(app(tmp_path, port), port):
        yield f"http://127.0.0.1:{port}"


@contextlib.contextmanager
def phone(**context: object) -> Iterator:
    """A page in its own headless Chromium at phone size, with ``context`` (locale, user agent)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.fail("chromium is not installed: .ci/run installs it (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, **context
        )
        pg = ctx.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        yield pg
        browser.close()
        assert not errors, f"JavaScript errors on the page: {errors}"


@pytest.fixture
def page() -> Iterator:
    with phone() as pg:
        yield pg


def post(base: str, *alerts: dict) -> None:
    r = httpx.post(
        f"{base}/api/v1/alerts", json=list(alerts), headers={"Authorization": f"Bearer {STATION_TOKEN}"}
    )
    assert r.status_code == 200, r.text


def sign_in(page, name: str, token: str) -> None:
    page.wait_for_selector("#signin[open]")
    page.fill("#name", name)
    page.fill("#token", token)
    page.click("#signin button.primary")


def test_live_list_map_claim_and_clear(cloud, page, tmp_path):
    first = alert(114.0700, 22.5213, "bottle", minutes_ago=3, seed=1)
    post(cloud, first)
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
    page.wait_for_function("!document.getElementById('signin').open")
    item_a = page.locator(f"#alert-{first['alert_id']}")
    item_a.wait_for()
    assert "3 min ago" in item_a.inner_text()
    assert item_a.locator("img.thumb").evaluate("img => img.complete && img.naturalWidth > 0")
    page.evaluate("window.__noReload = true")

    # A new find arrives through the ingest API: it shows up live, without a reload.
    second = alert(114.0655, 22.5209, "foam", minutes_ago=0.1, seed=2)
    post(cloud, second)
    item_b = page.locator(f"#alert-{second['alert_id']}")
    item_b.wait_for(timeout=5000)
    assert page.evaluate("window.__noReload") is True
    assert "just now" in item_b.inner_text() and "Foam" in item_b.inner_text()
    assert page.locator("#count").inner_text() == "2"
    assert page.locator("#map g.marker").count() == 2

    # Marker -> list item, list item -> marker.
    page.locator(f"#map g.marker[data-id='{second['alert_id']}']").click()
    assert "sel" in item_b.get_attribute("class")
    item_a.locator(".seg").click()
    assert "sel" in page.locator(f"#map g.marker[data-id='{first['alert_id']}']").get_attribute("class")

    # A chosen position gives distances.
    page.click("#locate")
    page.locator("#map").click(position={"x": 195, "y": 120})
    assert "away" in item_a.locator(".dist").inner_text()
    shots = Path(os.environ.get("RIVERPATROL_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / "inspector-390x844.png"))

    # Claim, then clear with a photo of the spot (a phone camera's 4000x3000, sent at most 1600 px
    # wide): the item leaves the open list and the CIM layer shows who cleared it, and the photo.
    item_b.locator("button[data-action=claim]").click()
    item_b.locator(".status", has_text="claimed").wait_for(timeout=5000)
    item_b.locator("button[data-action=clear]").click()
    page.locator("#clear-dlg[open]").wait_for()
    page.click("#clear-cancel")  # changed their mind: nothing is sent
    assert item_b.locator(".status").inner_text() == "claimed"
    item_b.locator("button[data-action=release]").click()  # needs a boat: handed back, open to all
    page.locator("#why-dlg .reason", has_text="Needs a boat").click()
    page.click("#why-send")
    item_b.locator("button[data-action=claim]").wait_for(timeout=5000)
    assert item_b.locator(".status").inner_text() == "new"
    order = httpx.get(f"{cloud}/api/v1/workorders/{second['alert_id']}").json()
    assert order["assignee"] is None and order["history"][-1]["note"] == "Needs a boat"
    item_b.locator("button[data-action=claim]").click()
    item_b.locator(".status", has_text="claimed").wait_for(timeout=5000)
    item_b.locator("button[data-action=clear]").click()
    camera_shot = tmp_path / "IMG_0001.jpg"
    scene = np.zeros((3000, 4000, 3), np.uint8)
    scene[:, :, 1] = np.linspace(60, 200, 4000, dtype=np.uint8)  # a clean bank, greener to the right
    camera_shot.write_bytes(cv2.imencode(".jpg", scene)[1].tobytes())
    page.set_input_files("#clear-photo", str(camera_shot))
    page.locator("#clear-preview:not([hidden])").wait_for(timeout=10000)
    page.click("#clear-send")
    item_b.wait_for(state="detached", timeout=5000)
    feat = httpx.get(f"{cloud}/ogc/collections/debris/items/{second['alert_id']}").json()
    assert feat["properties"]["status"] == "cleared"
    assert feat["properties"]["cleared_by"] == "li.wei"
    sent = httpx.get(urljoin(cloud, feat["properties"]["cleared_photo"]))
    shot = cv2.imdecode(np.frombuffer(sent.content, np.uint8), cv2.IMREAD_COLOR)
    assert sent.headers["content-type"] == "image/jpeg" and shot.shape == (1200, 1600, 3)

    # Someone else closes the other one elsewhere: the page follows live.
    r = httpx.post(
        f"{cloud}/api/v1/workorders/{first['alert_id']}/reject",
        json={},
        headers={"Authorization": f"Bearer {INSPECTOR_TOKENS['wang.fang']}"},
    )
    assert r.status_code == 200, r.text
    item_a.wait_for(state="detached", timeout=5000)
    assert page.locator("#count").inner_text() == "0"
    assert page.locator("#empty").is_visible()
    assert page.evaluate("localStorage.getItem('rp.name')") == "li.wei"


def test_false_alarm_from_the_page_and_a_wrong_token_is_refused(cloud, page):
    a = alert(114.0580, 22.5187, "bag", minutes_ago=1, seed=3)
    post(cloud, a)
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "li.wei", INSPECTOR_TOKENS["wang.fang"])
    page.locator("#signin-error", has_text="belongs to “wang.fang”").wait_for(timeout=5000)
    page.fill("#token", INSPECTOR_TOKENS["li.wei"])
    page.click("#signin button.primary")
    page.wait_for_function("!document.getElementById('signin').open")
    # Signed in, the page registers its service worker (Web Push) over the whole /inspector/ scope.
    scope = page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)")
    assert scope == f"{cloud}/inspector/"
    item = page.locator(f"#alert-{a['alert_id']}")
    item.locator("button[data-action=reject]").click()
    page.locator("#why-dlg .reason", has_text="Not debris").click()  # what it was, for the model's makers
    page.click("#why-send")
    item.wait_for(state="detached", timeout=5000)
    feat = httpx.get(f"{cloud}/ogc/collections/debris/items/{a['alert_id']}").json()
    assert feat["properties"]["status"] == "false_alarm"
    assert feat["properties"]["cleared_by"] == "li.wei"
    assert feat["properties"]["cleared_note"] == "Not debris (a bird, a reflection, a shadow)"


def test_a_stretchs_supervisor_sends_one_of_its_inspectors_to_a_find(cloud, page):
    here = alert(114.0700, 22.5213, "foam", minutes_ago=3, seed=5)  # on shenzhen-4, which zhou.min supervises
    there = alert(114.0580, 22.5187, "bag", minutes_ago=2, seed=6)  # on shenzhen-5: not theirs to send
    post(cloud, here, there)
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "zhou.min", INSPECTOR_TOKENS["zhou.min"])
    page.wait_for_function("!document.getElementById('signin').open")
    item = page.locator(f"#alert-{here['alert_id']}")
    send = item.locator("button[data-action=dispatch]")
    send.wait_for(timeout=5000)
    assert page.locator(f"#alert-{there['alert_id']} button[data-action=dispatch]").count() == 0
    assert page.locator(f"#alert-{there['alert_id']} button[data-action=claim]").count() == 1

    send.click()  # changed their mind: nothing is sent
    page.locator("#why-dlg[open] #why-title", has_text="Send someone to clear it?").wait_for(timeout=5000)
    page.click("#why-cancel")
    url = f"{cloud}/ogc/collections/debris/items/{here['alert_id']}"
    assert httpx.get(url).json()["properties"]["status"] == "new"

    send.click()
    page.locator("#why-dlg .reason", has_text="li.wei").click()  # the stretch's inspectors, to pick
    assert page.input_value("#why-text") == "li.wei"
    page.click("#why-send")
    item.locator("button[data-action=claim-taken]", has_text="Claimed by li.wei").wait_for(timeout=5000)
    props = httpx.get(url).json()["properties"]
    assert (props["status"], props["assignee"]) == ("dispatched", "li.wei")
    order = httpx.get(f"{cloud}/api/v1/workorders/{here['alert_id']}", headers={
        "Authorization": f"Bearer {INSPECTOR_TOKENS['li.wei']}"}).json()  # fmt: skip
    assert order["dispatched_by"] == "zhou.min"

    # li.wei cannot go after all: the river chief sends someone else; nobody else may take it from li
    r = httpx.post(f"{cloud}/api/v1/workorders/{here['alert_id']}/dispatch", json={}, headers={
        "Authorization": f"Bearer {INSPECTOR_TOKENS['wang.fang']}"})  # fmt: skip
    assert r.status_code == 409 and "only li.wei or a supervisor of its stretch" in r.text
    item.locator("button[data-action=dispatch]", has_text="Send someone else…").click()
    page.locator("#why-dlg[open] #why-note", has_text="li.wei is told they need not go").wait_for(
        timeout=5000
    )
    picks = page.locator("#why-dlg .reason").all_inner_texts()
    assert picks == ["wang.fang"]  # not the one who holds it
    page.locator("#why-dlg .reason", has_text="wang.fang").click()
    page.click("#why-send")
    item.locator("button[data-action=claim-taken]", has_text="Claimed by wang.fang").wait_for(timeout=5000)
    props = httpx.get(url).json()["properties"]
    assert (props["status"], props["assignee"]) == ("dispatched", "wang.fang")


def test_the_photo_opens_large_with_where_exactly_and_directions_for_the_phone(cloud, page, tmp_path):
    """Tapping a find's photo shows the drone's wider view of it, its position and accuracy, and a
    geo: link (RFC 5870, WGS 84) that hands the way there to an Android phone's map app."""
    wide = alert(114.0700, 22.5213, "bag", seed=3)
    wide["context_jpeg"] = jpeg((200, 200, 255), seed=9)
    crop_only = alert(114.0655, 22.5209, "foam", seed=4)
    post(cloud, wide, crop_only)
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
    page.wait_for_function("!document.getElementById('signin').open")

    page.locator(f"#alert-{wide['alert_id']} img.thumb").click()
    viewer = page.locator("#viewer")
    viewer.wait_for(state="visible")
    feature = httpx.get(f"{cloud}/ogc/collections/debris/items/{wide['alert_id']}").json()
    context = feature["properties"]["context_image"]
    assert context and context != feature["properties"]["thumbnail"]
    assert page.locator("#viewer-img").get_attribute("src") == context
    assert page.locator("#viewer-img").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
    assert "Bag 91%" in page.locator("#viewer-title").inner_text()
    assert "22.521300, 114.070000 (within 3 m)" in page.locator("#viewer-where").inner_text()
    assert (
        page.locator("#viewer-go").get_attribute("href")
        == "geo:22.521300,114.070000?q=22.521300,114.070000(bag%20(RiverPatrol))"
    )
    assert page.locator("#viewer-go").get_attribute("target") is None  # the map app, not a blank tab
    assert "sel" in page.locator(f"#alert-{wide['alert_id']}").get_attribute("class")
    shots = Path(os.environ.get("RIVERPATROL_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / "inspector-photo-390x844.png"))
    page.click("#viewer-close")
    viewer.wait_for(state="hidden")

    page.locator(f"#alert-{crop_only['alert_id']} img.thumb").click()  # no wider view sent: the crop
    viewer.wait_for(state="visible")
    thumb = httpx.get(f"{cloud}/ogc/collections/debris/items/{crop_only['alert_id']}").json()
    assert page.locator("#viewer-img").get_attribute("src") == thumb["properties"]["thumbnail"]


def test_the_photo_says_how_the_find_was_drifting_when_last_seen(cloud, page):
    """A find minutes old has drifted on with the current: the open photo says how fast and
    toward where (in the page's language); nothing for one that hardly moved or no drone could tell."""
    moving = {**alert(114.0700, 22.5213, "bag", seed=3), "drift": {"east_mps": 0.3, "north_mps": -0.1,
              "sigma_mps": 0.05, "over_s": 8.0}}  # fmt: skip
    still = {**alert(114.0655, 22.5209, "foam", seed=4), "drift": {"east_mps": 0.01, "north_mps": 0.0,
             "sigma_mps": 0.01, "over_s": 6.0}}  # fmt: skip
    unknown = alert(114.0610, 22.5200, "bottle", seed=5)
    post(cloud, moving, still, unknown)
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
    page.wait_for_function("!document.getElementById('signin').open")
    seen = page.evaluate("hhmm", moving["track"]["last_seen"])  # the phone's way of writing the time
    for find, text in ((moving, f"Drifting 0.3 m/s toward ESE when last seen ({seen})"), (still, None),
                       (unknown, None)):  # fmt: skip
        page.locator(f"#alert-{find['alert_id']} img.thumb").click()
        page.locator("#viewer").wait_for(state="visible")
        line = page.locator("#viewer-drift")
        assert (line.inner_text() if line.is_visible() else None) == text, find["debris_class"]
        page.click("#viewer-close")
        page.locator("#viewer").wait_for(state="hidden")
    page.goto(f"{cloud}/inspector/?lang=zh")
    page.locator(f"#alert-{moving['alert_id']} img.thumb").click()
    page.locator("#viewer").wait_for(state="visible")
    seen = page.evaluate("hhmm", moving["track"]["last_seen"])
    assert page.locator("#viewer-drift").inner_text() == f"最后发现时（{seen}）正以 0.3 米/秒向东南偏东漂移"


def test_an_inspector_asks_for_a_closer_look_and_sees_it_taken(cloud, page, tmp_path):
    """From the photo, the inspector asks the drone operators for a closer look, with what they want
    seen; the station that relayed the find reads the request; the closer view's event closes it
    and the open photo says so, live."""
    find = alert(114.0700, 22.5213, "foam", seed=3)
    post(cloud, find)
    aid = find["alert_id"]
    page.goto(f"{cloud}/inspector/")
    sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
    page.wait_for_function("!document.getElementById('signin').open")
    page.locator(f"#alert-{aid} img.thumb").click()
    page.locator("#viewer").wait_for(state="visible")
    assert page.locator("#viewer-look-state").is_hidden()
    page.click("#viewer-look")
    page.locator("#why-dlg").wait_for(state="visible")
    assert page.locator("#why-title").inner_text() == "Ask for a closer look?"
    page.get_by_role("button", name="How big is it?").click()
    page.click("#why-send")
    page.wait_for_function("document.getElementById('viewer-look').hidden")
    state = page.locator("#viewer-look-state").inner_text()
    assert state.startswith("Closer look asked by li.wei at ") and "· “How big is it?” · " in state, state
    assert state.endswith(" · not yet read by the drone operators"), state
    shots = Path(os.environ.get("RIVERPATROL_SCREENSHOTS", tmp_path))
    page.screenshot(path=str(shots / "inspector-closer-look-asked-390x844.png"))
    station = {"Authorization": f"Bearer {STATION_TOKEN}"}
    assert page.locator(f"#alert-{aid} .seg").inner_text().endswith(" · closer look asked")
    asked = httpx.get(f"{cloud}/api/v1/look-requests", headers=station).json()["items"]
    assert [(q["alert_id"], q["asked_by"], q["note"]) for q in asked] == [(aid, "li.wei", "How big is it?")]
    page.wait_for_function(  # the station read it: the inspector's receipt, live
        "document.getElementById('viewer-look-state').textContent"
        ".includes('the drone operators have it since')"
    )

    closer = {**find, "revision": 1, "event": "update", "debris_class": "bag"}
    closer["track"] = {**find["track"], "last_seen": datetime.now(UTC).isoformat()}
    post(cloud, closer)  # a pass that saw it again, its photo the one from before: still asked
    time.sleep(0.5)
    assert page.locator("#viewer-look-state").inner_text().startswith("Closer look asked")
    now = datetime.now(UTC).isoformat()
    closer = {**closer, "revision": 2, "captured_at": now, "published_at": now}
    closer["thumbnail_jpeg"] = jpeg((200, 200, 255), seed=11)  # the closer look's photo
    post(cloud, closer)
    page.wait_for_function(
        "document.getElementById('viewer-look-state').textContent.startsWith('Closer look taken at')"
    )
    assert page.locator("#viewer-look").is_visible()  # another may be asked
    assert "closer look" not in page.locator(f"#alert-{aid} .seg").inner_text()

    page.click("#viewer-look")  # asked again; the operators fly there and it has drifted on
    page.locator("#why-dlg").wait_for(state="visible")
    page.click("#why-send")
    page.wait_for_function("document.getElementById('viewer-look').hidden")
    assert httpx.get(f"{cloud}/api/v1/look-requests", headers=station).status_code == 200
    r = httpx.post(f"{cloud}/api/v1/alerts/{aid}/look/missed", headers=station, json={"note": "drifted on"})
    assert r.status_code == 200, r.text
    page.wait_for_function(
        "document.getElementById('viewer-look-state').textContent.includes('did not find it there')"
    )
    assert page.locator("#viewer-look-state").inner_text().endswith(": “drifted on”")
    assert httpx.get(f"{cloud}/api/v1/look-requests", headers=station).json() == {"items": []}


IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Mobile/15E148 Safari/604.1"
)


def test_the_map_shows_where_the_drones_flew_today(cloud):
    """A stretch without finds was looked at, or not: today's flight tracks are drawn on the map."""
    with phone(timezone_id="UTC", locale="en-GB") as page:  # a 24-hour clock, as the test reads it
        page.goto(f"{cloud}/inspector/")
        page.locator("#map .flown-label", has_text="no drone patrol yet today").wait_for(timeout=5000)
        now = datetime.now(UTC)
        start = max(now - timedelta(minutes=1), now.replace(hour=0, minute=0, second=1, microsecond=0))
        track = [[114.060 + k * 0.001, 22.5205] for k in range(12)]
        flight = {
            "schema_version": 1, "flight_id": "river-1-today", "vehicle": "river-1",
            "armed_at": start.isoformat(), "disarmed_at": (start + timedelta(seconds=30)).isoformat(),
            "distance_m": 1100.0, "mission_count": 12, "track": track,
        }  # fmt: skip
        r = httpx.post(
            f"{cloud}/api/v1/flights", json=flight, headers={"Authorization": f"Bearer {STATION_TOKEN}"}
        )
        assert r.status_code == 200, r.text
        page.reload()
        page.locator("#map path.flown[data-flight='river-1-today']").wait_for(state="attached", timeout=5000)
        label = page.locator("#map .flown-label").text_content()
        assert label == f"drone patrols today: {start:%H:%M}", label


def test_on_an_iphone_directions_open_apple_maps_which_takes_no_geo_links(cloud, tmp_path):
    """iOS opens no geo: link: an iPhone gets Apple's map link to the same point, in a new tab."""
    item = alert(114.0700, 22.5213, "bottle", seed=5)
    item["confidence"] = 0.997  # shown as 99%: a detector's score is never certainty
    post(cloud, item)
    with phone(user_agent=IPHONE_UA) as page:
        page.goto(f"{cloud}/inspector/")
        sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
        page.wait_for_function("!document.getElementById('signin').open")
        assert page.locator(f"#alert-{item['alert_id']} .conf").inner_text() == "99%"
        page.locator(f"#alert-{item['alert_id']} img.thumb").click()
        page.locator("#viewer").wait_for(state="visible")
        assert page.locator("#viewer-title").inner_text().startswith("Bottle 99% · ")
        go = page.locator("#viewer-go")
        assert (
            go.get_attribute("href")
            == "https://maps.apple.com/?ll=22.521300,114.070000&q=bottle%20(RiverPatrol)"
        )
        assert go.get_attribute("target") == "_blank" and go.get_attribute("rel") == "noopener"


def test_a_phone_set_to_chinese_gets_the_page_in_chinese_and_can_switch(cloud, tmp_path):
    """River inspectors in a Chinese city read Chinese: the page follows the phone's language, the
    EN / 中文 chip switches it (kept on the phone), and ?lang= in a link overrides both."""
    item = alert(114.0700, 22.5213, "bottle", minutes_ago=3, seed=6)
    post(cloud, item)
    with phone(locale="zh-CN") as page:
        page.goto(f"{cloud}/inspector/")
        page.wait_for_selector("#signin[open]")
        assert page.locator("#signin h2").inner_text() == "谁在值班？"
        assert page.evaluate("document.documentElement.lang") == "zh-CN"
        sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
        page.wait_for_function("!document.getElementById('signin').open")
        li = page.locator(f"#alert-{item['alert_id']}")
        li.wait_for()
        text = li.inner_text()
        assert "塑料瓶" in text and "新发现" in text and "3 分钟前" in text and "距离：请先设定位置" in text
        assert li.locator("button[data-action=claim]").inner_text() == "认领"
        assert page.locator("h2", has_text="未处理漂浮物").is_visible()
        shots = Path(os.environ.get("RIVERPATROL_SCREENSHOTS", tmp_path))
        page.screenshot(path=str(shots / "inspector-zh-390x844.png"))
        li.locator("button[data-action=claim]").click()
        page.locator("#toast", has_text="已认领，由您处理").wait_for(timeout=5000)
        li.locator(".status", has_text="已认领").wait_for(timeout=5000)
        page.click("#lang")  # to English, and it stays so on this phone
        page.wait_for_function("document.documentElement.lang === 'en'")
        page.locator(f"#alert-{item['alert_id']} .cls", has_text="bottle").wait_for()
        page.reload()
        page.locator("h2", has_text="Open debris").wait_for()
        page.goto(f"{cloud}/inspector/?lang=zh")  # a link that asks for Chinese
        page.locator("h2", has_text="未处理漂浮物").wait_for()
        assert page.locator("#lang").inner_text() == "EN"


def test_on_a_riverbank_without_signal_the_page_shows_its_last_list_and_photos(cloud):
    """The service worker keeps the page, its scripts, the rivers, the open list and the photos:
    offline, a reload still shows every find with its photo, and the page says the list is a copy."""
    items = [alert(114.0700, 22.5213, "bottle", seed=7), alert(114.0655, 22.5209, "bag", seed=8)]
    post(cloud, *items)
    with phone() as page:
        page.goto(f"{cloud}/inspector/")
        sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
        page.wait_for_function("!document.getElementById('signin').open")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("!!navigator.serviceWorker.controller")  # it has claimed the page
        page.reload()  # now through the worker: the list and the photos are kept on the phone
        for a in items:
            page.locator(f"#alert-{a['alert_id']} img.thumb").evaluate("img => img.decode()")
        assert page.locator("#live-text").inner_text() == "live"

        page.context.set_offline(True)
        page.reload()
        for a in items:
            li = page.locator(f"#alert-{a['alert_id']}")
            li.wait_for(timeout=5000)
            assert li.locator("img.thumb").evaluate("img => img.decode().then(() => img.naturalWidth > 0)")
        assert page.locator("#count").inner_text() == "2"
        page.locator("#live-text", has_text="offline · list of").wait_for(timeout=5000)
        assert page.locator("#live.off").count() == 1

        page.context.set_offline(False)  # signal again: live, and the copy is no longer named
        page.locator("#live-text", has_text="live").wait_for(timeout=15000)
        assert page.locator("#live-text").inner_text() == "live"


def test_actions_taken_without_signal_wait_on_the_phone_and_land_with_when_they_were_done(cloud, tmp_path):
    """Claimed and cleared on a riverbank with no signal: the page shows them done and keeps them
    (through a reload too, the photo of the cleared spot with them); with signal back they are sent
    in order, carrying when they were done."""
    claim_me, clear_me = alert(114.0700, 22.5213, "bottle", seed=9), alert(114.0655, 22.5209, "bag", seed=10)
    post(cloud, claim_me, clear_me)
    with phone() as page:
        page.goto(f"{cloud}/inspector/")
        sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
        page.wait_for_function("!document.getElementById('signin').open")
        page.evaluate("navigator.serviceWorker.ready")
        page.wait_for_function("!!navigator.serviceWorker.controller")
        page.reload()
        page.locator(f"#alert-{claim_me['alert_id']}").wait_for()

        page.context.set_offline(True)
        offline_at = time.time()
        a, b = page.locator(f"#alert-{claim_me['alert_id']}"), page.locator(f"#alert-{clear_me['alert_id']}")
        a.locator("button[data-action=claim]").click()
        page.locator("#toast", has_text="No signal: saved on this phone").wait_for(timeout=5000)
        a.locator(".status", has_text="claimed").wait_for(timeout=5000)
        b.locator("button[data-action=reject]").click()
        page.click("#why-send")  # no reason given: still a false alarm
        b.wait_for(state="detached", timeout=5000)
        page.reload()  # still offline: the copy of the list, with what waits applied on top
        a.locator(".status", has_text="claimed").wait_for(timeout=5000)
        assert b.count() == 0
        page.locator("#live-text", has_text="2 waiting to send").wait_for(timeout=5000)
        waiting = {x["wo"]: x for x in json.loads(page.evaluate("localStorage.getItem('rp.pending')"))}
        ids = (claim_me["alert_id"], clear_me["alert_id"])
        assert [waiting[k]["action"] for k in ids] == ["claim", "reject"]
        a.locator("button[data-action=clear]").click()  # picked up, photographed, cleared: no signal yet
        spot = tmp_path / "spot.jpg"
        spot.write_bytes(cv2.imencode(".jpg", np.full((480, 640, 3), 90, np.uint8))[1].tobytes())
        page.set_input_files("#clear-photo", str(spot))
        page.locator("#clear-preview:not([hidden])").wait_for(timeout=10000)
        page.click("#clear-send")
        a.wait_for(state="detached", timeout=5000)
        queued = json.loads(page.evaluate("localStorage.getItem('rp.pending')"))
        assert [x["action"] for x in queued] == ["claim", "reject", "clear"] and queued[2]["photo"]
        # (the browser's offline switch may let a request through with its answer lost, as a real
        # riverbank does: sent again from the queue, the server takes the repeat as done, not twice)
        time.sleep(1.5)  # so the times sent are visibly the ones the actions were done at

        online_at = time.time()
        page.context.set_offline(False)
        page.locator("#toast", has_text="Sent 3 action(s) saved while offline").wait_for(timeout=15000)
        claimed = httpx.get(f"{cloud}/api/v1/workorders/{claim_me['alert_id']}").json()
        rejected = httpx.get(f"{cloud}/api/v1/workorders/{clear_me['alert_id']}").json()
        assert claimed["status"] == "cleared" and claimed["assignee"] == "li.wei"
        photo = httpx.get(urljoin(cloud, claimed["cleared_photo"])).content
        assert cv2.imdecode(np.frombuffer(photo, np.uint8), cv2.IMREAD_COLOR).shape == (480, 640, 3)
        assert rejected["status"] == "false_alarm" and rejected["reviewed_by"] == "li.wei"
        for order, field in ((claimed, "dispatched_at"), (rejected, "reviewed_at")):
            recorded = datetime.fromisoformat(order[field].replace("Z", "+00:00")).timestamp()
            done = datetime.fromisoformat(waiting[order["id"]]["done_at"].replace("Z", "+00:00")).timestamp()
            assert recorded == pytest.approx(done, abs=0.5) and offline_at <= recorded < online_at - 1.0
        page.locator("#live-text", has_text="live").wait_for(timeout=5000)
        assert "waiting" not in page.locator("#live-text").inner_text()
        assert page.evaluate("localStorage.getItem('rp.pending')") is None


FILL_STORAGE = """() => {  // the phone's storage taken by other pages' data, to the last 64 characters
  let chunk = "x".repeat(1 << 20), i = 0;
  while (chunk.length >= 64) {
    try { localStorage.setItem(`other.${i++}`, chunk); }
    catch (e) { chunk = chunk.slice(0, chunk.length >> 1); }
  }
}"""


def test_a_full_phone_keeps_a_clear_without_its_photo_and_says_when_it_can_keep_nothing(cloud, tmp_path):
    """No signal and a phone all but full: the clear is kept without its photo (it would not fit)
    and says so; once nothing fits, an action is refused with what to do and the list stays as it
    was. With signal back what was kept lands; the page never breaks on the full storage."""
    keep, photo_gone, refused = (
        alert(114.0700, 22.5213, "bottle", seed=21),
        alert(114.0655, 22.5209, "bag", seed=22),
        alert(114.0680, 22.5211, "foam", seed=23),
    )
    post(cloud, keep, photo_gone, refused)
    with phone() as page:
        page.goto(f"{cloud}/inspector/")
        sign_in(page, "li.wei", INSPECTOR_TOKENS["li.wei"])
        page.wait_for_function("!document.getElementById('signin').open")
        a, b, c = (page.locator(f"#alert-{x['alert_id']}") for x in (keep, photo_gone, refused))
        c.wait_for()
        page.evaluate("localStorage.setItem('room', 'x'.repeat(3000))")  # room for actions, not photos
        page.evaluate(FILL_STORAGE)
        page.evaluate("localStorage.removeItem('room')")

        page.context.set_offline(True)
        a.locator("button[data-action=claim]").click()
        page.locator("#toast", has_text="No signal: saved on this phone").wait_for(timeout=5000)
        b.locator("button[data-action=claim]").click()
        b.locator(".status", has_text="claimed").wait_for(timeout=5000)
        b.locator("button[data-action=clear]").click()
        spot = tmp_path / "spot.jpg"
        noise = np.random.default_rng(3).integers(0, 255, (480, 640, 3), dtype=np.uint8)  # a photo that
        spot.write_bytes(cv2.imencode(".jpg", noise)[1].tobytes())  # keeps its size when shrunk
        page.set_input_files("#clear-photo", str(spot))
        page.locator("#clear-preview:not([hidden])").wait_for(timeout=10000)
        page.click("#clear-send")
        page.locator("#toast", has_text="No room on this phone for the photo").wait_for(timeout=5000)
        b.wait_for(state="detached", timeout=5000)
        queued = json.loads(page.evaluate("localStorage.getItem('rp.pending')"))
        assert [x["action"] for x in queued] == ["claim", "claim", "clear"] and "photo" not in queued[2]

        page.evaluate(FILL_STORAGE)  # and now not even an action fits
        c.locator("button[data-action=claim]").click()
        page.locator("#toast", has_text="no room on this phone to keep this").wait_for(timeout=5000)
        assert "claimed" not in c.locator(".status").inner_text()  # the list stays as it was
        assert len(json.loads(page.evaluate("localStorage.getItem('rp.pending')"))) == 3

        page.evaluate("Object.keys(localStorage).filter((k) => k.startsWith('other.'))"
                      ".forEach((k) => localStorage.removeItem(k))")  # fmt: skip
        page.context.set_offline(False)
        page.locator("#toast", has_text="Sent 3 action(s) saved while offline").wait_for(timeout=15000)
    claimed = httpx.get(f"{cloud}/api/v1/workorders/{keep['alert_id']}").json()
    cleared = httpx.get(f"{cloud}/api/v1/workorders/{photo_gone['alert_id']}").json()
    untouched = httpx.get(f"{cloud}/api/v1/workorders/{refused['alert_id']}").json()
    assert claimed["status"] == "dispatched" and claimed["assignee"] == "li.wei"  # claimed: on their way
    assert cleared["status"] == "cleared" and cleared["cleared_photo"] is None
    assert untouched["status"] == "new"  # the refused claim never left the phone
