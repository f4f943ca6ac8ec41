"""In-process event bus: ingest and work orders announce changes; integrations react.

Why a bus: the core must never wait on a pager, a webhook or a browser. ``publish`` is
non-blocking and safe from any thread; each subscriber owns a bounded queue and, when it falls
behind, loses its *oldest* events (counted in ``Subscription.dropped``) instead of slowing ingest.

Event shapes (plain dicts, JSON-serialisable)::

    {"type": "alert.new",         # a find that opened a new work order (page someone)
     "feature": {...},            # GeoJSON Feature exactly as GET /ogc/collections/debris/items/{id}
     "segment_id": "sz-1" | None, # river segment the find maps to (cloud/segments.py)
     "merged_into": None}

    {"type": "alert.updated",     # a higher revision of a known item, OR a new find merged into an
     "feature": {...},            # open order within merge_radius_m (then merged_into is the id of
     "segment_id": ..., "merged_into": "<alert id of the order's primary item>" | None,
     "look_taken": True}          # only when this event closed an inspector's closer-look request
                                  # (``look_asked_by`` in the properties: page them); or
                                  # "look_missed": True, the operators did not find it there

    {"type": "workorder.changed", # a work-order transition (confirm/reject/dispatch/arrive/clear)
     "feature": {...},            # the order's primary item, with the new status/work-order fields
     "segment_id": ..., "merged_into": None,
     "workorder": {"id", "status", "from_status", "actor", "at", ...}}

``feature["id"]`` is the alert id (UUID string); ``feature["properties"]`` carries ``status``,
``class``, ``confidence``, ``segment``, ``river``, ``thumbnail`` (URL path), ``workorder_id``,
``merged_into``, ``cleared_at``/``cleared_by`` and more (see ``cloud/api/features.py``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

Event = dict[str, Any]

EVENT_TYPES = ("alert.new", "alert.updated", "workorder.changed")


class Subscription:
    """One subscriber's bounded queue; iterate it (``async for ev in sub``) or ``await sub.get()``."""

    def __init__(self, bus: EventBus, maxsize: int) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[Event] = asyncio.Queue(maxsize=maxsize)
        self.loop = asyncio.get_running_loop()
        self.dropped = 0

    def _offer(self, event: Event) -> None:
        """Called on the subscriber's loop: enqueue, dropping the oldest event when full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(event)

    async def get(self) -> Event:
        return await self._queue.get()

    def get_nowait(self) -> Event:
        return self._queue.get_nowait()

    def qsize(self) -> int:
        return self._queue.qsize()

    def close(self) -> None:
        self._bus._remove(self)

    def __aiter__(self) -> AsyncIterator[Event]:
        return self._iter()

    async def _iter(self) -> AsyncIterator[Event]:
        while True:
            yield await self._queue.get()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBus:
    """Fan-out of every published event to every current subscriber."""

    def __init__(self, maxsize: int = 10_000) -> None:
        self._subs: list[Subscription] = []
        self._lock = threading.Lock()
        self.maxsize = maxsize
        self.published = 0

    def subscribe(self, maxsize: int | None = None) -> Subscription:
        """A new subscription; must be called from inside the event loop that will consume it."""
        sub = Subscription(self, maxsize or self.maxsize)
        with self._lock:
            self._subs.append(sub)
        return sub

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    @property
    def subscriber_count(self) -> int:
        return len(self._subs)

    def publish(self, event: Event) -> None:
        """Hand ``event`` to every subscriber without waiting; callable from any thread."""
        if event.get("type") not in EVENT_TYPES:
            raise ValueError(f"event type {event.get('type')!r} is not one of {EVENT_TYPES}")
        self.published += 1
        with self._lock:
            subs = list(self._subs)
        try:
            current = asyncio.get_running_loop()
        except RuntimeError:
            current = None
        for sub in subs:
            if sub.loop is current:
                sub._offer(event)
            elif not sub.loop.is_closed():
                sub.loop.call_soon_threadsafe(sub._offer, event)
