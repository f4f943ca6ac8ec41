"""Where to fly for a closer look at a find that drifts, and what the operator is told of it.

Debris drifts with the current (~0.3 m/s): flown to where it was seen minutes ago, a find is often
out of a 12 m camera's view. A drone reports each find's drift (:class:`contract.messages.Drift`);
:func:`contract.drift.where_now` extrapolates it, and this module turns that into the point
``gcs mission goto ID`` flies to and the one line saying why. ``now`` is always passed in: the CLI
gives the clock's, tests their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from pydantic import ValidationError

from contract.drift import DRIFT_HORIZON_S, STILL_MPS, where_now
from contract.messages import Alert, Drift, where_invalid
from ground_station.missions.goto import GotoPoint, find_alert, parse_point, point_of

#: The eight points of the compass, clockwise from north.
COMPASS = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")


@dataclass(frozen=True)
class Aim:
    """Where ``gcs mission goto`` flies, and the line telling the operator why there ("" : nothing to add)."""

    point: GotoPoint
    said: str = ""


def compass(deg: float) -> str:
    """The nearest of the eight compass points to bearing ``deg``: what an operator reads at a glance."""
    return COMPASS[round(deg / 45.0) % 8]


def drifting(drift: Drift) -> str:
    """``drifting 0.3 m/s toward E`` (``not drifting`` under ``STILL_MPS``): short, for a line of others."""
    if drift.speed_mps < STILL_MPS:
        return "not drifting"
    return f"drifting {drift.speed_mps:.2g} m/s toward {compass(drift.toward_deg)}"


def drift_mark(drift: Drift | None) -> str:
    """``0.3 m/s E`` for a table's cell: ``-`` where unknown, ``still`` where too slow to matter."""
    if drift is None:
        return "-"
    if drift.speed_mps < STILL_MPS:
        return "still"
    return f"{drift.speed_mps:.2g} m/s {compass(drift.toward_deg)}"


def local_hhmm(at: datetime, now: datetime) -> str:
    """HH:MM in the station's time zone; with the date when it is not ``now``'s day there."""
    local = _aware(at).astimezone()
    return local.strftime("%H:%M" if local.date() == _aware(now).astimezone().date() else "%m-%d %H:%M")


def _aware(at: datetime) -> datetime:
    """``at`` with a zone: the wire's times are UTC, and one written without a zone is read so."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def told_by(alert: Alert) -> str:
    """What the drift rests on, for the operator to weigh: ``seen on 2 passes over 7 min`` (two
    passes minutes apart may have been two look-alikes; a hold over it is surer)."""
    assert alert.drift is not None
    over = alert.drift.over_s
    span = f"{over:.0f} s" if over < 120 else f"{over / 60:.0f} min"
    passes = alert.track.passes
    return f"seen on {passes} pass{'es' if passes > 1 else ''} over {span}"


def aim_at(alert: Alert, now: datetime, as_seen: bool = False) -> Aim:
    """Where to fly for ``alert`` at ``now``: where its drift has likely carried it (capped at
    ``DRIFT_HORIZON_S``), or where it was seen when it has no drift, drifts too slowly to matter,
    or ``as_seen`` asks so. The ± radius is the find's own and the drift's error together."""
    short, cls = str(alert.alert_id)[:8], alert.debris_class.value
    seen = GotoPoint(alert.lat, alert.lon, f"the {cls} of alert {short}")
    when = local_hhmm(alert.track.last_seen, now)
    if alert.drift is None:
        return Aim(seen, f"{short} {cls}: its drift is unknown; flying to where it was seen at {when}")
    if alert.drift.speed_mps < STILL_MPS:
        return Aim(seen, f"{short} {cls} was not drifting when seen at {when}: flying to where it was seen")
    w = where_now(alert.lat, alert.lon, alert.drift, _aware(alert.track.last_seen), _aware(now))
    drifts = (
        f"{short} {cls} drifts {alert.drift.speed_mps:.2g} m/s toward {alert.drift.toward_deg:.0f}°"
        f" ({compass(alert.drift.toward_deg)}), {told_by(alert)}"
    )
    if as_seen:
        where = GotoPoint(alert.lat, alert.lon, f"where the {cls} of alert {short} was seen")
        return Aim(
            where,
            f"{drifts}: flying to where it was seen at {when} (--as-seen), {w.moved_m:,.0f} m from where"
            " it is likely now",
        )
    radius = f"±{alert.uncertainty_m + w.spread_m:,.0f} m"
    if w.capped:
        return Aim(
            GotoPoint(w.lat, w.lon, f"where the {cls} of alert {short} may have drifted"),
            f"{drifts} but was seen over {DRIFT_HORIZON_S / 60:.0f} min ago, at {when}: flying"
            f" {w.moved_m:,.0f} m on, as far as {DRIFT_HORIZON_S / 60:.0f} min of drift takes it; a guess"
            f" ({radius}): the current may have turned or it beached (--as-seen flies to where it was seen)",
        )
    return Aim(
        GotoPoint(w.lat, w.lon, f"where the {cls} of alert {short} likely is now"),
        f"{drifts}: flying to where it is likely now, {w.moved_m:,.0f} m on from where seen at {when}"
        f" ({radius})",
    )


def goto_aim(target: str, alerts: Iterable[dict] | None, now: datetime, as_seen: bool = False) -> Aim:
    """:func:`~ground_station.missions.goto.point_of` for ``target``, an alert's id flown to where
    its drift has likely carried it by ``now`` (:func:`aim_at`). An outbox payload this version
    cannot read as an alert is flown to as seen, saying so: its place is still known."""
    if parse_point(target) is not None or alerts is None:
        return Aim(point_of(target, alerts))
    payload = find_alert(alerts, target)
    try:
        alert = Alert.model_validate(payload)
    except ValidationError as e:
        seen = point_of(target, [payload])
        why = where_invalid(e)
        return Aim(seen, f"{seen.what} does not read as an alert here ({why}): flying to where it was seen")
    return aim_at(alert, now, as_seen)
