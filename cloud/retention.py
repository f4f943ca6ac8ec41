"""Photo retention: pictures of a find are kept while its order is open, then for a set time.

The drone's pictures and the inspector's closing photo can show people on the river bank; a
city keeps them as long as the work needs them (``photo_retention_days`` after the order
closed), not forever, and a busy district's database would otherwise grow without end. The find
itself (where, what, when, who cleared it) stays for the reports, and each find that lost a
picture is announced as updated (``announce``), so the CIM connectors and the inspectors' pages
drop the dead links too. The expiry runs when the service starts and every ``check_every_s``
after, in a thread (the database is blocking).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter

log = logging.getLogger(__name__)

DAY_S = 86_400.0


class PhotoRetention:
    """Runs ``expire(closed_before)`` (the store's ``expire_photos``) now and every
    ``check_every_s``, counting what it dropped and announcing the finds it changed."""

    def __init__(
        self,
        expire: Callable[[float], tuple[int, int, list[str]]],
        announce: Callable[[list[str]], None],
        retention_days: float,
        registry: CollectorRegistry,
        check_every_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.expire = expire
        self.announce = announce
        self.retention_s = retention_days * DAY_S
        self.check_every_s = check_every_s
        self.clock = clock
        self.expired = Counter(
            "riverpatrol_cloud_photos_expired", "Pictures dropped by photo retention.", registry=registry
        )
        self.freed = Counter(
            "riverpatrol_cloud_photo_bytes_expired",
            "Bytes of pictures dropped by photo retention.",
            registry=registry,
        )
        self._task: asyncio.Task | None = None

    def run_once(self) -> tuple[int, int]:
        """Expire what is due now; (pictures, bytes)."""
        n, size, items = self.expire(self.clock() - self.retention_s)
        self.expired.inc(n)
        self.freed.inc(size)
        if n or items:
            log.info(
                "photos expired",
                extra={
                    "photos": n,
                    "bytes": size,
                    "finds": len(items),
                    "retention_days": self.retention_s / DAY_S,
                },
            )
        self.announce(items)
        return n, size

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:
                log.exception("photo retention could not expire photos")
            await asyncio.sleep(self.check_every_s)

    async def __aenter__(self) -> PhotoRetention:
        self._task = asyncio.create_task(self._loop(), name="photo-retention")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
