"""The RiverPatrol wire contract: the one place that defines what crosses a process boundary.

Every deployable (``sim``, ``edge``, ``ground_station``, ``cloud``) imports this package and
nothing of each other. Topics, message models, MAVLink conventions, coordinate helpers and
network defaults live here once.
"""

SCHEMA_VERSION = 1
