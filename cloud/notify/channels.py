"""Delivery adapters: apprise (WeCom, DingTalk, Feishu/Lark, ...) and Web Push (pywebpush).

Both libraries block, so callers run these in a worker thread. Each returns normally on
delivery and raises :class:`DeliveryError` (with what and where) otherwise.
"""

from __future__ import annotations

import json
from typing import Any

import apprise
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from cloud.notify.message import Page


class DeliveryError(Exception):
    """A channel did not take the page."""


class GoneSubscription(DeliveryError):
    """The push service says the subscription no longer exists (404/410): forget it."""


def redact(url: str) -> str:
    """An apprise URL safe to log: scheme and host only (tokens live in the path/user part)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0].split('@')[-1][:24]}…"


def send_apprise(url: str, page: Page) -> None:
    """Send ``page`` to one apprise URL (``wecombot://``, ``dingtalk://``, ``feishu://``, ``json://``...)."""
    a = apprise.Apprise()
    if not a.add(url):
        raise DeliveryError(f"apprise does not understand the URL {redact(url)}")
    if not a.notify(title=page.title, body=page.body, body_format=apprise.NotifyFormat.TEXT):
        raise DeliveryError(f"apprise delivery to {redact(url)} failed")


def send_webpush(sub: dict[str, Any], page: Page, key: Vapid, subject: str, ttl: int, timeout: float) -> None:
    """Encrypt ``page`` for one browser subscription (aes128gcm) and post it with VAPID auth."""
    try:
        webpush(
            subscription_info=sub,
            data=json.dumps(page.push_payload()),
            vapid_private_key=key,
            vapid_claims={"sub": subject},
            ttl=ttl,
            timeout=timeout,
        )
    except WebPushException as exc:
        status = exc.response.status_code if exc.response is not None else None
        where = sub["endpoint"].split("?")[0][:80]
        if status in (404, 410):
            raise GoneSubscription(f"push subscription {where} is gone (HTTP {status})") from None
        raise DeliveryError(f"web push to {where} failed: {str(exc).splitlines()[0]}") from None
    except Exception as exc:  # requests' connection errors and the like
        raise DeliveryError(
            f"web push to {sub['endpoint'][:80]} failed: {type(exc).__name__}: {exc}"
        ) from None
