"""The relay also carries the flight logbook to the cloud: every landed flight, once.

``mission watch`` writes a flight as ``data_dir/logbook/NAME.geojson`` (and the relay files each
drone's own record there as ``NAME.drone.geojson``); this sender posts it to
``/api/v1/flights`` and, on the cloud's 200, writes ``NAME.geojson.sent`` beside it (the cloud's
answer: the stretches it patrolled). A file that can never be a flight (not seen landing, a track
of one point) or that the cloud refuses gets ``NAME.geojson.rejected`` with why; those the cloud
refused are offered to it again now and then (:meth:`FlightSender.offer_refused_again`: a cloud
upgraded since may take them), those that can never be a flight are not. The
files are the queue: a relay restart, a cloud outage or a ``kill -9`` loses nothing, and the
cloud takes a repeat as done (``flight_id``), and one flight logged by both the drone and the
station as one (it keeps the longer record).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx
from pydantic import ValidationError

from contract.files import write_atomic
from contract.flightlog import flight_from_feature
from contract.messages import Flight

log = logging.getLogger(__name__)
_JSON = {"Content-Type": "application/json"}
#: How a ``.rejected`` mark of the cloud's refusal begins (the others: "not a flight").
_REFUSED = "HTTP "


def cloud_state(path: Path) -> tuple[str, str | None]:
    """Where the relay is with the logbook flight ``path``, by its marks: ``"sent"``, ``"refused"``
    (by the cloud; offered again), ``"not sent"`` (it can never be a flight) or ``"waiting"``; and
    why, for the two set aside."""
    if path.with_name(path.name + ".sent").exists():
        return "sent", None
    try:
        why = path.with_name(path.name + ".rejected").read_text()
    except FileNotFoundError:
        return "waiting", None
    except OSError as e:
        return "waiting", f"its mark is unreadable: {e}"
    return ("refused" if why.startswith(_REFUSED) else "not sent"), why


class FlightSender:
    """Posts unsent logbook flights; call :meth:`step` now and then."""

    def __init__(self, logbook_dir: Path, cloud_url: str, token: str = "", timeout_s: float = 10.0) -> None:
        self.dir = Path(logbook_dir)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=cloud_url.rstrip("/"), headers=headers, timeout=timeout_s)
        self.sent = 0
        self.rejected = 0
        self.last_error: str | None = None

    def close(self) -> None:
        self._http.close()

    def pending(self) -> list[Path]:
        """Logbook files neither sent nor rejected, oldest first."""
        if not self.dir.is_dir():
            return []
        done = {p.name.rsplit(".", 1)[0] for p in self.dir.iterdir() if p.suffix in (".sent", ".rejected")}
        return sorted(p for p in self.dir.glob("*.geojson") if p.name not in done)

    def step(self) -> int:
        """Send what is pending until the cloud is unreachable or busy; returns flights sent."""
        n = 0
        for path in self.pending():
            try:
                flight = flight_from_feature(json.loads(path.read_text()), path.stem)
            except (ValidationError, ValueError, KeyError, TypeError) as e:  # never a flight: say why, once
                self._mark(path, ".rejected", f"not a flight: {e}")
                continue
            try:
                r = self._post(flight)
            except httpx.HTTPError as e:
                self.last_error = f"{type(e).__name__}: {e}"
                break  # the cloud is away: everything waits for the next step
            if r.status_code == 200:
                self._mark(path, ".sent", r.text)
                n += 1
            elif r.status_code in (400, 409, 413, 422):
                self._mark(path, ".rejected", f"{_REFUSED}{r.status_code}: {r.text[:500]}")
            else:  # 401/403 (a token to fix), 5xx, 429: the cloud may take it later
                self.last_error = f"HTTP {r.status_code}: {r.text[:200]}"
                break
        self.sent += n
        return n

    def offer_refused_again(self) -> int:
        """Make the flights the cloud refused (4xx) pending again, for the next :meth:`step`: a
        cloud upgraded since may take what it did not know; how many. A file that can never be a
        flight stays set aside."""
        if not self.dir.is_dir():
            return 0
        n = 0
        for mark in self.dir.glob("*.geojson.rejected"):
            try:
                if mark.read_text().startswith(_REFUSED):
                    mark.unlink()
                    n += 1
            except OSError as e:  # unreadable: it stays set aside, for the next offer
                log.warning(
                    "refused flight not offered again", extra={"fields": {"file": str(mark), "error": str(e)}}
                )
        return n

    def _post(self, flight: Flight) -> httpx.Response:
        """POST one flight; a cloud from before the modes flown refuses the field (422 naming
        ``modes``): the flight goes again without them, as such a cloud takes it."""
        r = self._http.post("/api/v1/flights", content=flight.model_dump_json(), headers=_JSON)
        if r.status_code == 422 and flight.modes and '"modes"' in r.text:
            r = self._http.post(
                "/api/v1/flights", content=flight.model_dump_json(exclude={"modes"}), headers=_JSON
            )
        return r

    def _mark(self, path: Path, suffix: str, text: str) -> None:
        if suffix == ".rejected":
            self.rejected += 1
            log.error("flight not sent to the cloud", extra={"fields": {"file": str(path), "why": text}})
        else:
            log.info("flight sent to the cloud", extra={"fields": {"file": str(path), "answer": text}})
        write_atomic(path.with_name(path.name + suffix), text)
