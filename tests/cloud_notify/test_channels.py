"""Real deliveries: apprise to a local JSON endpoint, pywebpush to a local stand-in push service."""

from __future__ import annotations

import base64
import json
import os
import time

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from cloud.notify import channels
from cloud.notify.message import Page
from cloud.notify.vapid import application_server_key, load_or_create
from tests.cloud_notify.helpers import HttpSink
from tests.conftest import free_port

PAGE = Page(
    "a-1",
    "Floating bottle on Shenzhen River 1",
    "What: bottle\nWhere: ...",
    "http://c/inspector/#alert-a-1",
    None,
)


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def browser_subscription(endpoint: str):
    """What a browser's PushManager would hand us: its ECDH public key and auth secret."""
    key = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    pub = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return key, auth, {"endpoint": endpoint, "keys": {"p256dh": b64u(pub), "auth": b64u(auth)}}


def test_apprise_json_delivery_reaches_a_local_server():
    sink = HttpSink(free_port(), status=200)
    try:
        channels.send_apprise(f"json://127.0.0.1:{sink.port}/hook", PAGE)
        (req,) = sink.wait(1)
    finally:
        sink.close()
    body = json.loads(req["body"])
    assert req["path"] == "/hook"
    assert body["title"] == PAGE.title and body["message"] == PAGE.body


def test_apprise_failure_raises_with_where():
    with pytest.raises(channels.DeliveryError, match=r"json://127\.0\.0\.1"):
        channels.send_apprise(f"json://127.0.0.1:{free_port()}/", PAGE)
    with pytest.raises(channels.DeliveryError, match="does not understand"):
        channels.send_apprise("nosuchscheme://x", PAGE)


def test_chinese_chat_schemas_are_understood_by_apprise():
    import apprise

    for url in ("wecombot://botkey", "dingtalk://secret@token/", "feishu://token", "lark://token"):
        assert apprise.Apprise().add(url), url


def test_webpush_is_encrypted_and_vapid_signed(tmp_path):
    vapid = load_or_create(tmp_path / "vapid.pem")
    assert (
        load_or_create(tmp_path / "vapid.pem").public_key.public_numbers()
        == vapid.public_key.public_numbers()
    )
    sink = HttpSink(free_port(), status=201)
    key, auth, sub = browser_subscription(f"http://127.0.0.1:{sink.port}/wpush/v2/abc123")
    try:
        channels.send_webpush(sub, PAGE, vapid, "mailto:ops@example.org", ttl=600, timeout=5)
        (req,) = sink.wait(1)
    finally:
        sink.close()
    h = req["headers"]
    assert req["path"] == "/wpush/v2/abc123"
    assert h["content-encoding"] == "aes128gcm" and h["ttl"] == "600"
    # RFC 8291: only the subscriber's private key and auth secret decrypt the body.
    plain = http_ece.decrypt(req["body"], private_key=key, auth_secret=auth, version="aes128gcm")
    assert json.loads(plain) == PAGE.push_payload()
    # RFC 8292: "vapid t=<JWT>, k=<public key>", JWT signed ES256 by our VAPID key.
    scheme, _, params = h["authorization"].partition(" ")
    fields = dict(p.strip().split("=", 1) for p in params.split(","))
    assert scheme == "vapid" and fields["k"] == application_server_key(vapid)
    head, claims, sig = fields["t"].split(".")
    raw = unb64u(sig)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    vapid.public_key.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    c = json.loads(unb64u(claims))
    assert c["aud"] == f"http://127.0.0.1:{sink.port}" and c["sub"] == "mailto:ops@example.org"
    assert c["exp"] > time.time()


def test_webpush_gone_subscription_is_reported(tmp_path):
    vapid = load_or_create(tmp_path / "vapid.pem")
    sink = HttpSink(free_port(), status=410)
    _, _, sub = browser_subscription(f"http://127.0.0.1:{sink.port}/gone")
    try:
        with pytest.raises(channels.GoneSubscription, match="410"):
            channels.send_webpush(sub, PAGE, vapid, "mailto:ops@example.org", ttl=60, timeout=5)
    finally:
        sink.close()
