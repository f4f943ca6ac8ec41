"""The one storage interface the API talks to; SQLite and PostgreSQL implement it identically.

Rows cross this boundary as plain dicts (column name -> value). Times are UTC epoch seconds
(float) in storage so both engines filter and sort them the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cloud.flights import FlightKept

Row = dict[str, Any]


@dataclass(frozen=True)
class PreparedAlert:
    """A validated wire Alert flattened for storage, thumbnails decoded and hashed."""

    row: Row  # columns of the items table this event carries
    thumbnail: tuple[str, bytes] | None = None  # (sha256 hex, jpeg bytes)
    context: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class IngestPolicy:
    """What the store needs from configuration to place a new find."""

    merge_radius_m: float = 5.0
    segment_for: Callable[[float, float], tuple[str | None, str | None]] = lambda lat, lon: (None, None)
    review_required: Callable[[str | None], bool] = lambda segment_id: False


@dataclass
class IngestResult:
    """Counts per request plus the items that changed (for events), in input order."""

    accepted: int = 0
    duplicates: int = 0
    stale: int = 0  # accepted and recorded, but an equal/higher revision was already stored
    new_items: int = 0  # finds that opened a work order
    merged: int = 0  # finds merged into an open work order nearby
    changes: list[tuple[str, Row]] = field(default_factory=list)  # (event type, joined item row)


@dataclass(frozen=True)
class ItemQuery:
    """Filters shared by the OGC items endpoint and ``GET /api/v1/alerts``."""

    bbox: tuple[float, float, float, float] | None = None  # min lon, min lat, max lon, max lat
    start: float | None = None  # item seen at or after (last_seen >= start)
    end: float | None = None  # item seen at or before (first_seen <= end)
    status: Sequence[str] = ()
    classes: Sequence[str] = ()
    river: str | None = None
    segment: str | None = None
    limit: int = 10
    offset: int = 0


class Store(Protocol):
    """Storage of debris items, their events, thumbnails, work orders and API tokens."""

    kind: str

    def close(self) -> None: ...
    def schema_version(self) -> int: ...
    def ingest(self, alerts: Sequence[PreparedAlert], policy: IngestPolicy, now: float) -> IngestResult: ...
    def get_item(self, alert_id: str) -> Row | None: ...
    def ask_look(self, alert_id: str, actor: str, note: str, now: float) -> tuple[Row, bool]: ...
    def open_looks(self, station: str | None = None) -> list[Row]: ...
    def look_missed(self, alert_id: str, station: str, answer: str, now: float) -> Row: ...
    def looks_seen(self, alert_ids: Sequence[str], station: str, now: float) -> list[Row]: ...
    def query_items(self, q: ItemQuery) -> tuple[list[Row], int]: ...
    def extent(self) -> tuple[tuple[float, float, float, float] | None, tuple[float, float] | None]: ...
    def count_events(self) -> int: ...
    def get_thumbnail(self, sha256: str) -> bytes | None: ...
    def expire_photos(self, closed_before: float, dry_run: bool = False) -> tuple[int, int, list[str]]: ...
    def add_token(self, token_hash: str, role: str, principal: str, now: float) -> None: ...
    def lookup_token(self, token_hash: str) -> tuple[str, str] | None: ...
    def list_tokens(self) -> list[Row]: ...
    def revoke_tokens(self, token_hashes: Sequence[str]) -> int: ...
    def get_workorder(self, wo_id: str) -> Row | None: ...
    def list_workorders(
        self, status: Sequence[str] = (), segment: str | None = None, limit: int = 50, offset: int = 0
    ) -> tuple[list[Row], int]: ...
    def workorder_history(self, wo_id: str) -> list[Row]: ...
    def apply_transition(
        self,
        wo_id: str,
        decide: Callable[[Row], tuple[Row, Row]],
        now: float,
        photos: Sequence[tuple[str, bytes]] = (),
    ) -> tuple[Row, Row]: ...
    def all_workorders(self) -> list[Row]: ...
    def all_workorder_events(self) -> list[Row]: ...
    def add_flight(self, row: Row) -> FlightKept:
        """Store a patrol flight (``FLIGHT_COLUMNS``) unless a record of it is stored already: its
        ``flight_id``, or a longer record of the same flight (``cloud.flights.keep_one``); a longer
        one takes the place of the shorter."""
        ...

    def get_flight(self, flight_id: str) -> Row | None: ...
    def list_flights(
        self,
        since: float | None = None,
        until: float | None = None,
        limit: int = 10_000,
        with_track: bool = True,
        bbox: tuple[float, float, float, float] | None = None,
        offset: int = 0,
    ) -> list[Row]:
        """Flights that took off in [since, until] (and whose track's box meets ``bbox``: min lon,
        min lat, max lon, max lat), oldest first, from ``offset``; ``with_track=False`` leaves out
        the track (thousands of points each) where only times, stretches and boxes are read."""
        ...

    def flights_extent(self) -> Row | None:
        """The box (``min_lon`` ... ``max_lat``) and the time span (first ``armed_at``, last
        ``disarmed_at``) of every stored flight; None without one."""
        ...

    def count_flights(
        self,
        since: float | None = None,
        until: float | None = None,
        bbox: tuple[float, float, float, float] | None = None,
    ) -> int:
        """How many flights :meth:`list_flights` would give without its limit."""
        ...

    def open_workorders(self, limit: int = 10_000) -> list[Row]:
        """Open orders, oldest first, each with ``open_since``: when it was found, or handed back
        (``release``) last, whichever is later: the start of its wait for someone to claim it."""
        ...
