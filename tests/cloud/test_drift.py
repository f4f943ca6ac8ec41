"""A find's drift on the water: stored with the item (the newest sighting's), served in the item
JSON, the OGC debris layer and the stations' closer-look requests. Storage against SQLite and
PostgreSQL, the API over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from cloud.api.features import drift_properties
from cloud.storage import open_store, sql
from cloud.storage.items import DRIFT_COLUMNS, ITEM_COLUMNS
from cloud.storage.sql import MIGRATIONS
from contract.messages import LookRequests
from tests.cloud.factory import HOME, INSPECTOR_TOKENS, T0, alert
from tests.cloud.test_storage import POLICY, prep

#: 0.3 m/s east, 0.1 m/s south: toward 108 degrees, east-south-east.
ESE = {"east_mps": 0.3, "north_mps": -0.1, "sigma_mps": 0.05, "over_s": 8.0}
NORTH = {"east_mps": 0.0, "north_mps": 0.5, "sigma_mps": 0.02, "over_s": 4.0}


def drifting(drift: dict[str, float] | None, **kw: Any) -> dict[str, Any]:
    """A valid alert (``factory.alert``) carrying ``drift``."""
    return {**alert(**kw), "drift": drift}


def stored_drift(store: Any, aid: str) -> dict[str, float] | None:
    item = store.get_item(aid)
    if item["drift_east_mps"] is None:
        assert all(item[c] is None for c in DRIFT_COLUMNS), item
        return None
    return {c.removeprefix("drift_"): item[c] for c in DRIFT_COLUMNS}


def test_the_drift_of_the_newest_sighting_is_kept(store) -> None:
    first = drifting(ESE)
    aid = first["alert_id"]
    store.ingest(prep([first]), POLICY, 1.0)
    assert stored_drift(store, aid) == ESE
    # a later event telling of an older sighting (a pass's track sent late) does not replace it
    late = drifting(NORTH, alert_id=aid, revision=1, at=T0 - timedelta(minutes=2))
    assert store.ingest(prep([late]), POLICY, 2.0).stale == 0
    assert stored_drift(store, aid) == ESE
    # the same sighting told again without one (a new name, the end) keeps it
    same = drifting(None, alert_id=aid, revision=2, cls="bag")
    store.ingest(prep([same]), POLICY, 3.0)
    assert (store.get_item(aid)["debris_class"], stored_drift(store, aid)) == ("bag", ESE)
    # a newer sighting brings its own
    store.ingest(prep([drifting(NORTH, alert_id=aid, revision=4, at=T0 + timedelta(minutes=1))]), POLICY, 4.0)
    assert stored_drift(store, aid) == NORTH
    # a lower revision never regresses the item
    older = drifting(ESE, alert_id=aid, revision=3, at=T0 + timedelta(minutes=9))
    assert store.ingest(prep([older]), POLICY, 5.0).stale == 1
    assert stored_drift(store, aid) == NORTH
    # a newer glimpse that could not tell keeps the last one told: the current turns in hours
    store.ingest(prep([drifting(None, alert_id=aid, revision=5, at=T0 + timedelta(minutes=3))]), POLICY, 6.0)
    assert stored_drift(store, aid) == NORTH


def test_a_database_of_the_previous_version_gets_the_drift_columns(db_url, monkeypatch) -> None:
    before = drifting(ESE)
    aid = before["alert_id"]
    with monkeypatch.context() as m:  # a server of the version before: no drift stored
        m.setattr(sql, "MIGRATIONS", MIGRATIONS[:-1])
        m.setattr(sql, "ITEM_COLUMNS", tuple(c for c in ITEM_COLUMNS if c not in DRIFT_COLUMNS))
        old = open_store(db_url, pool_size=1)
        assert old.schema_version() == MIGRATIONS[-2][0]
        assert old.ingest(prep([before]), POLICY, 1.0).new_items == 1
        old.close()
    store = open_store(db_url, pool_size=1)  # what a server of this version does when it starts
    try:
        assert store.schema_version() == MIGRATIONS[-1][0] == 9
        assert stored_drift(store, aid) is None  # unknown, not zero
        later = drifting(NORTH, alert_id=aid, revision=1, at=T0 + timedelta(minutes=1))
        store.ingest(prep([later]), POLICY, 2.0)
        assert stored_drift(store, aid) == NORTH
    finally:
        store.close()


def test_drift_properties_say_speed_and_bearing_and_null_when_unknown() -> None:
    row = {f"drift_{k}": v for k, v in ESE.items()}
    props = drift_properties(row)
    assert props["drift_speed_mps"] == pytest.approx(0.316, abs=1e-3)
    assert props["drift_toward_deg"] == pytest.approx(108.4, abs=0.1)
    west = drift_properties({**row, "drift_east_mps": -0.2, "drift_north_mps": 0.0})
    assert west["drift_toward_deg"] == 270.0
    still = drift_properties({**row, "drift_east_mps": 0.0, "drift_north_mps": 0.0})
    assert (still["drift_speed_mps"], still["drift_toward_deg"]) == (0.0, None)
    assert set(drift_properties({}).values()) == {None}


def test_the_api_serves_the_drift_and_an_older_sighting_does_not_replace_it(make_server, db_url) -> None:
    srv = make_server(db_url=db_url)
    a = drifting(ESE)
    aid = a["alert_id"]
    bare = alert(lat=HOME[0] + 0.001)  # 110 m up the river: a find of its own
    with srv.client() as gs, srv.client(INSPECTOR_TOKENS["alice"]) as insp:
        assert gs.post("/api/v1/alerts", json=[a, bare]).status_code == 200
        late = drifting(NORTH, alert_id=aid, revision=1, at=T0 - timedelta(minutes=1))
        assert gs.post("/api/v1/alerts", json=[late]).json()["accepted"] == 1
        item = insp.get(f"/api/v1/alerts/{aid}").json()
        feat = insp.get(f"/ogc/collections/debris/items/{aid}").json()["properties"]
        page = insp.get("/ogc/collections/debris/items", params={"limit": 10}).json()["features"]
        listed = {f["id"]: f["properties"] for f in page}
        for props in (item, feat, listed[aid]):
            assert {k: props[f"drift_{k}"] for k in ESE} == ESE
            assert (props["drift_speed_mps"], props["drift_toward_deg"]) == (0.316, 108.4)
        none = insp.get(f"/api/v1/alerts/{bare['alert_id']}").json()
        assert none["drift_east_mps"] is None and none["drift_toward_deg"] is None
        assert listed[bare["alert_id"]]["drift_speed_mps"] is None
        schema = insp.get("/openapi.json").json()["components"]["schemas"]["DebrisProperties"]
        assert {f"drift_{k}" for k in (*ESE, "speed_mps", "toward_deg")} <= set(schema["properties"])
        # the station sent for a closer look flies to where it has drifted since
        for asked in (aid, bare["alert_id"]):
            assert insp.post(f"/api/v1/alerts/{asked}/look", json={"note": "still there?"}).status_code == 200
        reqs = LookRequests.model_validate_json(gs.get("/api/v1/look-requests").content).items
        drifts = {str(q.alert_id): q.drift for q in reqs}
        assert drifts[aid] is not None and drifts[aid].model_dump() == ESE
        assert drifts[bare["alert_id"]] is None
