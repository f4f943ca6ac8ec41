"""A MAVLink 2 multicopter simulator that looks like ArduPilot Copter SITL on the wire.

Command line: ``riverpatrol sim vehicle --help``. In-process API (tests, the demo)::

    from sim.settings import VehicleSettings
    from sim.vehicle import SimVehicle

    settings = VehicleSettings(tcp_port=0, udp_out=[], speedup=20, ekf_ready_s=5,
                               params={"DISARM_DELAY": 0})
    with SimVehicle(settings) as sim:           # binds, then runs in a daemon thread
        port = sim.tcp_port                     # 0 above: the free port it picked
        ...                                     # talk MAVLink to tcp:127.0.0.1:<port>
        s = sim.wait_for(lambda s: s.armed and s.alt_rel > 10, timeout=10)
        print(s.lat, s.lon, s.alt_rel, s.mode_name, s.battery_remaining_pct)

``SimVehicle(settings=None, **overrides)``
    Overrides are :class:`~sim.settings.VehicleSettings` fields (``SimVehicle(tcp_port=0)``).
    ``start()`` binds the sockets and runs the loop in a daemon thread (returns ``self``);
    ``stop()`` ends it; it is also a context manager. ``run()`` runs in the calling thread
    (the CLI does this). A subprocess works the same: ``riverpatrol sim vehicle --tcp-port N
    --no-udp --speedup 20 --log-format json`` logs ``vehicle listening`` once it accepts.

Reading the truth (thread-safe, no locks needed):
    ``snapshot()`` -> :class:`~sim.vehicle.snapshot.Snapshot`, frozen, replaced every
    physics step: true position (``lat``/``lon``/``alt_amsl``/``alt_rel``, local
    ``north``/``east``/``up``), velocity, attitude (degrees), what the autopilot reports
    (``est_*``, ``pos_ok``), GPS, battery, wind, mode, armed, mission progress, home,
    failsafes. ``wait_for(predicate, timeout)`` polls it. ``sim_time`` is simulated seconds.

Changing the world from a test:
    ``call(fn)`` runs ``fn(core)`` inside the loop thread and returns its result, e.g.
    ``sim.call(lambda c: c.wind_model.set(speed=8))``; ``set_param(name, value)`` is the
    common case. ``core`` is the :class:`~sim.vehicle.core.VehicleCore` (touch it only
    through ``call`` while running).

Endpoints: ``tcp_port`` (actual port; several clients at once), ``udp_local_ports`` (the
sockets that send to each ``udp_out`` destination and read replies). Every incoming message
is handled, whatever the link; every outgoing one goes to every link.

Clocks: physics and all telemetry timestamps (``time_boot_ms``, ``time_usec``,
SYSTEM_TIME's UTC) are simulated; stream rates are in simulated time. Link timers (mission
request retry 1 s, upload timeout 8 s, the GCS-heartbeat failsafe) use the wall clock by
default (``link_clock="wall"``) so real-time clients can keep up at any speedup; ``"sim"``
makes them SITL-exact. ``DISARM_DELAY`` (10 s) is simulated time, as in SITL: at speedup 20
a client has 0.5 wall seconds between arming and taking off, so tests usually boot with
``params={"DISARM_DELAY": 0}``.

Pure parts, each usable alone: :mod:`~sim.vehicle.physics`, :mod:`~sim.vehicle.params`,
:mod:`~sim.vehicle.mission`, :mod:`~sim.vehicle.autopilot`, :mod:`~sim.vehicle.faults`,
:mod:`~sim.vehicle.streams`, :mod:`~sim.vehicle.telemetry`, :mod:`~sim.vehicle.core`; the
shell is :mod:`~sim.vehicle.links` and :mod:`~sim.vehicle.server`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import contract.mavlink  # noqa: F401  (MAVLINK20 + ardupilotmega before pymavlink)

if TYPE_CHECKING:
    from sim.settings import VehicleSettings
    from sim.vehicle.server import SimVehicle
    from sim.vehicle.snapshot import Snapshot

__all__ = ["SimVehicle", "Snapshot", "VehicleSettings"]


def __getattr__(name: str) -> Any:
    """Lazy exports: ``import sim.vehicle.cli`` (for ``--help``) must not load pymavlink."""
    if name == "SimVehicle":
        from sim.vehicle.server import SimVehicle

        return SimVehicle
    if name == "Snapshot":
        from sim.vehicle.snapshot import Snapshot

        return Snapshot
    if name == "VehicleSettings":
        from sim.settings import VehicleSettings

        return VehicleSettings
    raise AttributeError(name)
