"""VAPID identity of this cloud for Web Push: generated once, kept under the data dir.

Browsers bind a push subscription to the application server key it was made with, so the
key pair must survive restarts; losing it silently orphans every inspector's subscription.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from py_vapid import Vapid


def load_or_create(path: Path) -> Vapid:
    """The VAPID key at ``path`` (PEM), generating and saving a new P-256 key on first run."""
    if path.exists():
        return Vapid.from_file(str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    v = Vapid()
    v.generate_keys()
    tmp = path.with_suffix(".tmp")
    v.save_key(str(tmp))
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)  # atomic: two processes starting at once never see half a key
    return Vapid.from_file(str(path))


def application_server_key(v: Vapid) -> str:
    """Public key as browsers want it for ``pushManager.subscribe``: base64url, uncompressed point."""
    raw = v.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
