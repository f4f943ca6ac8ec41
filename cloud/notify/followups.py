"""Which reminders and escalations went out, kept on disk so a restarted server does not page them
again (a deploy would otherwise re-page every claim and every unclaimed find it finds waiting)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from contract.files import write_atomic

log = logging.getLogger("riverpatrol.cloud.notify")

Key = tuple[str, float]


class SentFollowUps:
    """Sets of (work order or segment id, start of its wait), for :mod:`cloud.notify.policy`'s
    ``reminders_due``, ``escalations_due`` and ``patrols_overdue``, and when the patrol schedule
    began to be watched; :meth:`save` writes them atomically."""

    def __init__(self, path: Path, now: float) -> None:
        self.path = Path(path)
        self.reminded: set[Key] = set()
        self.escalated: set[Key] = set()
        self.overdue: set[Key] = set()
        #: Since when patrols are watched: a stretch never flown is overdue from here.
        self.watching_since = now
        try:
            doc = json.loads(self.path.read_text())
            self.reminded = {(str(i), float(t)) for i, t in doc.get("reminded", [])}
            self.escalated = {(str(i), float(t)) for i, t in doc.get("escalated", [])}
            self.overdue = {(str(i), float(t)) for i, t in doc.get("overdue", [])}
            self.watching_since = float(doc.get("watching_since", now))
        except FileNotFoundError:
            pass
        except (ValueError, TypeError, AttributeError) as exc:  # a torn or hand-edited file
            log.warning(
                "sent follow-ups unreadable, starting afresh",
                extra={"path": str(self.path), "error": str(exc)},
            )
        self._saved: dict[str, Any] | None = None  # a fresh file is written at the first save

    def _doc(self) -> dict[str, Any]:
        return {
            "reminded": sorted([i, t] for i, t in self.reminded),
            "escalated": sorted([i, t] for i, t in self.escalated),
            "overdue": sorted([i, t] for i, t in self.overdue),
            "watching_since": self.watching_since,
        }

    def save(self) -> None:
        """Write the sets when they changed: to a temporary file, fsynced, then renamed over."""
        doc = self._doc()
        if doc == self._saved:
            return
        write_atomic(self.path, json.dumps(doc))
        self._saved = doc
