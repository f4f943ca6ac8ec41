"""Web Push subscriptions of inspectors' browsers, in SQLite under the data dir."""

from __future__ import annotations

import base64
import binascii
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import sqlite_utils


class BadSubscription(ValueError):
    """A subscription the browser could not have produced (HTTP 422)."""


def _b64url_len(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value:
        raise BadSubscription(f"keys.{name} must be a non-empty base64url string")
    try:
        return len(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise BadSubscription(f"keys.{name} is not base64url: {exc}") from None


def validate(sub: dict[str, Any]) -> dict[str, Any]:
    """The ``PushSubscription.toJSON()`` fields we need, checked; ``BadSubscription`` says what is wrong."""
    endpoint = sub.get("endpoint")
    if not isinstance(endpoint, str) or urlparse(endpoint).scheme not in ("http", "https"):
        raise BadSubscription(f"endpoint must be an http(s) URL, got {endpoint!r}")
    keys = sub.get("keys") or {}
    if _b64url_len(keys.get("p256dh"), "p256dh") != 65:
        raise BadSubscription("keys.p256dh must be a 65-byte uncompressed P-256 point")
    if _b64url_len(keys.get("auth"), "auth") != 16:
        raise BadSubscription("keys.auth must be 16 bytes")
    return {"endpoint": endpoint, "keys": {"p256dh": keys["p256dh"], "auth": keys["auth"]}}


class SubscriptionStore:
    """endpoint -> (inspector, keys); one browser re-subscribing replaces its row."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite_utils.Database(
            sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        )
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS subscriptions (endpoint TEXT PRIMARY KEY, inspector TEXT NOT NULL,"
            " p256dh TEXT NOT NULL, auth TEXT NOT NULL, created_at REAL NOT NULL)"
        )

    def add(self, inspector: str, sub: dict[str, Any]) -> None:
        s = validate(sub)
        self.db.execute(
            "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?)",
            [s["endpoint"], inspector, s["keys"]["p256dh"], s["keys"]["auth"], time.time()],
        )

    def of(self, inspector: str) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT endpoint, p256dh, auth FROM subscriptions WHERE inspector = ?", [inspector]
        ).fetchall()
        return [{"endpoint": e, "keys": {"p256dh": p, "auth": a}} for e, p, a in rows]

    def remove(self, endpoint: str) -> None:
        self.db.execute("DELETE FROM subscriptions WHERE endpoint = ?", [endpoint])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM subscriptions").fetchone()[0])

    def close(self) -> None:
        self.db.conn.close()
