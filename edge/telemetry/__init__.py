"""Vehicle telemetry on the companion computer: a MAVLink link to the autopilot, a typed,
timestamped vehicle state and a pose history the detector geotags frames with.

Pure core: ``state`` (``StateTracker``), ``pose`` (``PoseHistory``), ``watch`` (link-loss and
stream watchdogs), ``streams`` (what rates we ask for). Shell: ``link`` (the connection thread),
``metrics`` (Prometheus), ``view`` (rich rendering for ``riverpatrol edge telemetry``).
"""
