"""Bearer-token auth: ground stations post alerts, inspectors move work orders.

Tokens come from config (plain or ``sha256:<hex>``) or from the DB (``riverpatrol cloud token
create``), where only the SHA-256 of the token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

ROLES = ("station", "inspector")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Principal:
    role: str
    name: str


def _configured(tokens: dict[str, str], role: str) -> dict[str, Principal]:
    out = {}
    for name, tok in tokens.items():
        h = tok[len("sha256:") :] if tok.startswith("sha256:") else hash_token(tok)
        out[h] = Principal(role, name)
    return out


def configured_tokens(
    station_tokens: dict[str, str], inspector_tokens: dict[str, str]
) -> dict[str, Principal]:
    """Token hash -> :class:`Principal` for the tokens set in the config (plain or ``sha256:<hex>``)."""
    return {**_configured(station_tokens, "station"), **_configured(inspector_tokens, "inspector")}


class TokenAuth:
    """Resolves ``Authorization: Bearer <token>`` to a :class:`Principal` or a clear 401/403."""

    def __init__(self, station_tokens: dict[str, str], inspector_tokens: dict[str, str], store) -> None:
        self.static = configured_tokens(station_tokens, inspector_tokens)
        self.store = store

    def resolve(self, request: Request, role: str) -> Principal:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(
                401,
                f"missing bearer token: send 'Authorization: Bearer <{role} token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        h = hash_token(token.strip())
        p = self.static.get(h)
        if p is None:
            found = self.store.lookup_token(h)
            p = Principal(*found) if found else None
        if p is None:
            raise HTTPException(
                401, "unknown or revoked bearer token", headers={"WWW-Authenticate": "Bearer"}
            )
        if p.role != role:
            raise HTTPException(403, f"token of {p.role} {p.name!r} may not do what needs a {role} token")
        return p


def station(request: Request) -> Principal:
    """FastAPI dependency: the ground station posting this request."""
    return request.app.state.auth.resolve(request, "station")


def inspector(request: Request) -> Principal:
    """FastAPI dependency: the inspector acting on a work order."""
    return request.app.state.auth.resolve(request, "inspector")
