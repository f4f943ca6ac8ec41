"""The paging worker: bus events -> policy -> rendered page -> every channel of every inspector.

Runs as its own task fed by its own bus subscription, so a slow or dead pager never holds up
ingest; each delivery is a thread (apprise and pywebpush block) with a timeout, and every
failure is logged and counted, then forgotten. A second task reads the open orders from the
store every few minutes: it reminds inspectors of finds they claimed and left open
(``claim_reminder_h``), pages a stretch's supervisors about finds nobody claimed
(``unclaimed_escalate_h``) and about a patrol overdue (``patrol_every_h`` of a segment).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter

from cloud.integrations_config import NotifyConfig, SegmentConfig
from cloud.notify import channels
from cloud.notify.followups import SentFollowUps
from cloud.notify.message import Page, render, render_overdue
from cloud.notify.policy import (
    Decision,
    PagingPolicy,
    escalations_due,
    open_since,
    patrols_overdue,
    reminders_due,
)
from cloud.notify.subscriptions import SubscriptionStore
from cloud.notify.vapid import application_server_key, load_or_create

log = logging.getLogger("riverpatrol.cloud.notify")


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.decisions = Counter(
            "riverpatrol_notify_decisions", "Paging decisions by reason.", ["reason"], registry=r
        )
        self.deliveries = Counter(
            "riverpatrol_notify_deliveries",
            "Deliveries by channel and outcome.",
            ["channel", "outcome"],
            registry=r,
        )


class NotifyService:
    """Async context manager running the paging worker; also holds the Web Push identity and store."""

    def __init__(
        self,
        cfg: NotifyConfig,
        segments: list[SegmentConfig],
        data_dir: Path,
        bus: Any,
        base_url: Callable[[], str],
        segment_name: Callable[[str], str],
        metrics: NotifyMetrics | None = None,
        open_orders: Callable[[], list[dict[str, Any]]] | None = None,
        item_feature: Callable[[str], dict[str, Any] | None] | None = None,
        remind_every_s: float = 300.0,
        last_flown: Callable[[], dict[str, float]] | None = None,
    ) -> None:
        """``open_orders`` (the open work orders, with ``open_since``) and ``item_feature`` (an
        order's find as a Feature) are the store's, called in a thread; without them nobody is
        reminded and nothing escalates. ``last_flown`` (segment id -> last flight over it) is too;
        without it no patrol is overdue."""
        self.last_flown = last_flown
        self.cfg = cfg
        self.open_orders, self.item_feature, self.remind_every_s = open_orders, item_feature, remind_every_s
        self._remind_task: asyncio.Task | None = None
        self.bus = bus
        self.base_url = base_url
        self.segment_name = segment_name
        self.policy = PagingPolicy(segments, cfg.cooldown_s, cfg.per_segment_per_hour)
        self.dir = Path(data_dir) / "notify"
        self.vapid = load_or_create(self.dir / "vapid_private.pem")
        self.public_key = application_server_key(self.vapid)
        self.subs = SubscriptionStore(self.dir / "push_subscriptions.sqlite")
        self.followed_up = SentFollowUps(self.dir / "follow_ups.json", time.time())
        self.m = metrics or NotifyMetrics()
        self.sent = 0
        self.failed = 0
        self.last_error: str | None = None
        self._task: asyncio.Task | None = None
        self._sub: Any = None

    async def __aenter__(self) -> NotifyService:
        self._sub = self.bus.subscribe()
        self._task = asyncio.create_task(self._run(), name="notify")
        if (
            self.open_orders
            and self.item_feature
            and (self.cfg.claim_reminder_h or self.cfg.unclaimed_escalate_h or self.last_flown)
        ):
            self._remind_task = asyncio.create_task(self._remind_loop(), name="notify-reminders")
        log.info("notify started", extra={"push_subscriptions": self.subs.count()})
        return self

    async def __aexit__(self, *exc: object) -> None:
        for task in (self._task, self._remind_task):
            if task:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._sub is not None:
            self._sub.close()
        self.subs.close()

    async def _run(self) -> None:
        async for event in self._sub:
            try:
                await self.handle(event, time.time())
            except Exception:
                log.exception("notify could not handle a bus event", extra={"event_type": event.get("type")})

    async def _remind_loop(self) -> None:
        while True:
            try:
                await self.remind(time.time())
            except Exception:
                log.exception("notify could not send reminders and escalations")
            await asyncio.sleep(self.remind_every_s)

    async def remind(self, now: float) -> list[tuple[str, str, str]]:
        """Page each inspector whose claim has stayed open ``claim_reminder_h``, once per claim,
        each stretch's supervisors about a find unclaimed ``unclaimed_escalate_h``, once per wait,
        and about a patrol overdue, once per wait."""
        assert self.open_orders is not None and self.item_feature is not None
        cfg = self.cfg
        orders = await asyncio.to_thread(self.open_orders)
        out: list[tuple[str, str, str]] = []
        if cfg.claim_reminder_h > 0:
            by_assignee: dict[str, list[dict[str, Any]]] = {}
            for o in reminders_due(orders, now, cfg.claim_reminder_h * 3600, self.followed_up.reminded):
                by_assignee.setdefault(str(o["assignee"]), []).append(o)
            for who, claims in by_assignee.items():  # one page a person, however many they claimed
                o = min(claims, key=lambda c: float(c["dispatched_at"]))
                out += await self._follow_up(
                    o,
                    (who,),
                    "claim_reminder",
                    claimed_for_s=now - o["dispatched_at"],
                    held_back=len(claims) - 1,
                )
        if cfg.unclaimed_escalate_h > 0:
            by_segment: dict[str, list[dict[str, Any]]] = {}
            for o in escalations_due(
                orders, now, cfg.unclaimed_escalate_h * 3600, self.followed_up.escalated
            ):
                by_segment.setdefault(o.get("segment_id") or "", []).append(o)
            for sid, waiting in by_segment.items():  # one page a stretch: a patrol's finds wait together
                seg = self.policy.segments.get(sid)
                to = tuple(seg.supervisors or seg.inspectors) if seg else ()
                if seg is None or not to:
                    self.m.decisions.labels("unclaimed_nobody").inc(len(waiting))
                    log.info(
                        "unclaimed finds page nobody", extra={"segment": sid or None, "finds": len(waiting)}
                    )
                    continue
                o = min(waiting, key=open_since)  # the longest wait
                out += await self._follow_up(
                    o,
                    to,
                    "unclaimed",
                    unclaimed_for_s=now - open_since(o),
                    inspectors=tuple(seg.inspectors),
                    held_back=len(waiting) - 1,
                )
        if self.last_flown is not None:
            out += await self._patrols_overdue(now)
        self.followed_up.save()  # after the sends: a crash before this pages them again, never not at all
        return out

    async def _patrols_overdue(self, now: float) -> list[tuple[str, str, str]]:
        """Page each scheduled stretch's supervisors once when no flight has patrolled it in its
        ``patrol_every_h``."""
        every = {s.id: s.patrol_every_h * 3600 for s in self.policy.segments.values() if s.patrol_every_h > 0}
        if not every or self.last_flown is None:
            return []
        last = await asyncio.to_thread(self.last_flown)
        out: list[tuple[str, str, str]] = []
        since = self.followed_up.watching_since
        for sid, flown in patrols_overdue(every, last, since, now, self.followed_up.overdue):
            seg = self.policy.segments[sid]
            self.m.decisions.labels("patrol_overdue").inc()
            if not seg.supervisors:
                log.info(
                    "overdue patrol pages nobody: the stretch has no supervisors", extra={"segment": sid}
                )
                continue
            page = render_overdue(
                sid, self.segment_name(sid), flown, since, every[sid], now, self.base_url(),
                self.cfg.timezone, self.cfg.language,
            )  # fmt: skip
            out += await self._send(page, tuple(seg.supervisors), sid, "patrol_overdue")
        return out

    def _place(self, segment_id: str | None, river: str | None) -> str:
        """How a page names where a find is: its stretch, or off every stretch its river."""
        return self.segment_name(segment_id) if segment_id else str(river or "the river")

    async def _follow_up(
        self, order: dict[str, Any], to: tuple[str, ...], why: str, **page: Any
    ) -> list[tuple[str, str, str]]:
        """Page ``to`` about an open ``order`` (a reminder or an escalation: ``page`` says which)."""
        assert self.item_feature is not None
        feature = await asyncio.to_thread(self.item_feature, str(order["id"]))
        if feature is None:
            return []
        self.m.decisions.labels(why).inc()
        seg = order.get("segment_id")
        rendered = render(
            feature,
            self._place(seg, order.get("river")),
            self.base_url(),
            self.cfg.timezone,
            language=self.cfg.language,
            **page,
        )
        return await self._send(rendered, to, seg, why)

    async def handle(self, event: dict[str, Any], now: float) -> list[tuple[str, str, str]]:
        """Decide and deliver one event; returns (inspector, channel, outcome) per delivery."""
        out = await self._page(event, self.policy.decide(event, now))
        moved = self.policy.taken_off(event)
        return out + (await self._page(event, moved) if moved.page else [])

    async def _page(self, event: dict[str, Any], d: Decision) -> list[tuple[str, str, str]]:
        self.m.decisions.labels(d.reason).inc()
        if not d.page or d.segment is None:
            if d.reason in ("no_segment", "no_inspectors"):  # counted above; info, not a warning per find
                log.info(
                    "find pages nobody",
                    extra={
                        "reason": d.reason,
                        "segment": event.get("segment_id"),
                        "alert": (event.get("feature") or {}).get("id"),
                    },
                )
            return []
        page = render(
            event["feature"],
            self._place(d.segment.id, (event["feature"].get("properties") or {}).get("river")),
            self.base_url(),
            self.cfg.timezone,
            d.held_back,
            self.cfg.language,
            d.handed_back_by,
            d.handed_back_why,
            dispatched_by=d.dispatched_by,
            reassigned_to=d.reassigned_to,
            look_taken=d.look_taken,
            look_missed=d.look_missed,
        )
        return await self._send(page, d.inspectors, d.segment.id or None, d.reason)

    async def _send(
        self, page: Page, inspectors: tuple[str, ...], segment: str | None, why: str
    ) -> list[tuple[str, str, str]]:
        """``page`` on every channel of every one of ``inspectors``; (inspector, channel, outcome)s."""
        jobs = []
        for who in inspectors:
            for url in self.cfg.apprise_urls.get(who, []):
                jobs.append((who, "apprise", self._apprise(url, page)))
            for sub in self.subs.of(who):
                jobs.append((who, "webpush", self._webpush(sub, page)))
        if not jobs:
            log.warning(
                "inspectors have no channel", extra={"inspectors": list(inspectors), "alert": page.alert_id}
            )
        results = await asyncio.gather(*(j[2] for j in jobs))
        out = [(who, ch, res) for (who, ch, _), res in zip(jobs, results, strict=True)]
        log.info(
            "paged",
            extra={
                "alert": page.alert_id,
                "segment": segment,
                "why": why,
                "deliveries": [list(o) for o in out],
            },
        )
        return out

    async def _deliver(self, channel: str, fn: Callable[[], None], where: str) -> str:
        try:
            async with asyncio.timeout(self.cfg.timeout_s + 5):  # not wait_for: gh-86296
                await asyncio.to_thread(fn)
        except channels.GoneSubscription as exc:
            self.subs.remove(where)
            outcome, err = "gone", str(exc)
        except TimeoutError:
            outcome, err = "failed", f"{channel} delivery timed out after {self.cfg.timeout_s + 5}s"
        except Exception as exc:
            outcome, err = "failed", f"{type(exc).__name__}: {exc}"
        else:
            self.sent += 1
            self.m.deliveries.labels(channel, "sent").inc()
            return "sent"
        self.failed += outcome == "failed"
        self.last_error = err
        self.m.deliveries.labels(channel, outcome).inc()
        log.warning("page not delivered", extra={"channel": channel, "outcome": outcome, "error": err})
        return outcome

    def _apprise(self, url: str, page: Page):
        return self._deliver("apprise", lambda: channels.send_apprise(url, page), channels.redact(url))

    def _webpush(self, sub: dict[str, Any], page: Page):
        cfg = self.cfg
        return self._deliver(
            "webpush",
            lambda: channels.send_webpush(
                sub, page, self.vapid, cfg.webpush_subject, cfg.webpush_ttl_s, cfg.timeout_s
            ),
            sub["endpoint"],
        )

    def health(self) -> dict[str, Any]:
        return {
            "ok": self._task is not None and not self._task.done(),
            "sent": self.sent,
            "failed": self.failed,
            "last_error": self.last_error,
            "push_subscriptions": self.subs.count(),
            "dropped_events": getattr(self._sub, "dropped", 0),
        }
