"""GeoJSON-feature webhook: POST each changed debris Feature to a CIM platform's URL.

The body is the Feature exactly as the OGC API serves it; headers say which change it was and
give an idempotency key (item + outbox sequence) so a receiver can drop the rare duplicate a
crash between "delivered" and "recorded" can cause.
"""

from __future__ import annotations

import httpx

from cloud.sync.http_status import check
from cloud.sync.outbox import Entry


class WebhookConnector:
    """Delivers ``feature`` outbox entries by HTTP POST."""

    name = "geojson_webhook"

    def __init__(self, client: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.url = url
        self.headers = dict(headers or {})

    async def __call__(self, entry: Entry) -> None:
        headers = {
            **self.headers,
            "Content-Type": "application/geo+json",
            "Idempotency-Key": f"{entry.key}:{entry.seq}",
            "X-RiverPatrol-Event": entry.kind,
        }
        resp = await self.client.post(self.url, json=entry.payload["feature"], headers=headers)
        check(resp, f"webhook {entry.kind} of {entry.key}")
