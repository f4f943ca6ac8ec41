"""Inspectors' requests for a closer look at a find, read from the cloud for the operators.

An inspector who wants a better photo of a find presses "ask for a closer look" on the phone;
the cloud keeps the request open until a photo of the item taken after a station read it
reaches it. The relay polls ``GET LOOK_REQUESTS_PATH`` with the station's token
(:class:`LookPoller`), keeps the open ones in its outbox for ``gcs alerts`` (offline) and logs
each new one with the command that flies there.
A cloud from before the requests answers 404: it takes none, which is said once, not each poll.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import httpx
from pydantic import ValidationError

from contract.drift import where_now
from contract.messages import LOOK_REQUESTS_PATH, LookRequest, LookRequests, where_invalid
from ground_station.missions.drift_target import drifting, local_hhmm

if TYPE_CHECKING:
    from ground_station.relay.outbox import RelayOutbox

log = logging.getLogger("riverpatrol.gcs.relay")


@dataclass(frozen=True)
class LookChanges:
    """What one poll changed: requests that appeared, and those no longer open (done or withdrawn)."""

    new: list[LookRequest]
    gone: list[LookRequest]


def _key(r: LookRequest) -> tuple[str, str]:
    """One request: the same find asked again after its first was done is a new request."""
    return str(r.alert_id), r.asked_at.isoformat()


def new_since(previous: list[LookRequest], current: list[LookRequest]) -> LookChanges:
    """The requests in ``current`` not in ``previous``, and those of ``previous`` gone from it,
    each in the order of its list (the cloud's: oldest first)."""
    before = {_key(r) for r in previous}
    now = {_key(r) for r in current}
    return LookChanges(
        new=[r for r in current if _key(r) not in before], gone=[r for r in previous if _key(r) not in now]
    )


def goto_command(r: LookRequest, known_alert: bool = True, now: datetime | None = None) -> str:
    """The command that flies a drone to the find: by its id where this station's outbox knows
    the alert (``mission goto`` looks ids up there and flies to where its drift has carried it),
    else by its position: where its drift has likely carried it by ``now`` (the clock's), if it has one."""
    if known_alert:
        return f"riverpatrol gcs mission goto {str(r.alert_id)[:8]}"
    w = where_now(r.lat, r.lon, r.drift, r.last_seen, now or datetime.now(UTC))
    return f"riverpatrol gcs mission goto {w.lat:.6f},{w.lon:.6f}"


def goto_from(box: RelayOutbox, r: LookRequest, now: datetime | None = None) -> str:
    """:func:`goto_command` for ``r``, by id where the relay outbox ``box`` has the alert."""
    return goto_command(r, bool(box.recent(limit=1, id_prefix=str(r.alert_id))), now)


def local_time(at: datetime) -> str:
    """HH:MM in the station's time zone; with the date when it is not today."""
    return local_hhmm(at, datetime.now(UTC))


def look_line(r: LookRequest, command: str) -> str:
    """One open request for an operator: what, who asked when and why, and how to fly there."""
    note = f' ("{r.note}")' if r.note else ""
    seen = f", last seen {local_time(r.last_seen)}" if r.last_seen else ""  # it drifts from there
    drift = f", {drifting(r.drift)}" if r.drift else ""
    return (
        f"{str(r.alert_id)[:8]} {r.debris_class}{seen}{drift}: {r.asked_by} asked for a closer look at"
        f" {local_time(r.asked_at)}{note}: {command}"
    )


class LookPoller:
    """Reads the open closer-look requests for this station's finds; call :meth:`poll` now and then."""

    def __init__(self, cloud_url: str, token: str = "", timeout_s: float = 10.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=cloud_url.rstrip("/"), headers=headers, timeout=timeout_s)
        #: False while the cloud answers 404 (it predates the requests), None until it has answered.
        self.supported: bool | None = None
        self.polls = 0
        self.failures = 0
        #: Why the last poll failed, until one succeeds.
        self.last_error: str | None = None

    def close(self) -> None:
        self._http.close()

    def poll(self) -> LookRequests | None:
        """The open requests, oldest first; None when the cloud is away, refuses the token, takes
        no requests (404: :attr:`supported` is False) or answers something that breaks the
        contract (:attr:`last_error` says which, and :attr:`failures` counts them)."""
        self.polls += 1
        try:
            r = self._http.get(LOOK_REQUESTS_PATH)
        except httpx.HTTPError as e:
            self._failed(f"cloud unreachable: {type(e).__name__}: {e}")
            return None
        if r.status_code == 404:
            if self.supported is not False:
                log.info(
                    "the cloud takes no closer-look requests (a cloud from before them): none to show",
                    extra={"fields": {"url": str(r.url)}},
                )
            self.supported = False
            self.last_error = None
            return None
        if r.status_code != 200:
            self._failed(f"HTTP {r.status_code}: {r.text[:200]}")
            return None
        try:
            got = LookRequests.model_validate_json(r.content)
        except ValidationError as e:
            self._failed(f"the cloud's answer breaks the contract: {where_invalid(e)}")
            return None
        if self.supported is False:
            log.info("the cloud takes closer-look requests now", extra={"fields": {"url": str(r.url)}})
        self.supported = True
        if self.last_error is not None:
            log.info("closer-look requests read again", extra={"fields": {"after_failures": self.failures}})
        self.last_error = None
        return got

    def _failed(self, why: str) -> None:
        """Count a failed poll; log it when the reason changes, not every poll of an outage."""
        self.failures += 1
        if why != self.last_error:
            log.warning("closer-look requests not read", extra={"fields": {"error": why}})
        self.last_error = why
        return None
