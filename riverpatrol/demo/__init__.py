"""``riverpatrol demo``: one patrol through the whole data path, drone to inspector, on one machine.

``run.py`` wires the components' public APIs together; ``simulator.py`` runs the vehicle and its
camera in a process of their own (the drone); ``broker.py`` (embedded amqtt) and
``cloud_server.py`` (uvicorn in a thread) host what a city would run as separate services;
``score.py`` scores the finds against the simulator's ground truth; ``radio.py`` (a link that can
be cut) and ``faults.py`` (when to cut it, when the camera is off, and what the edge lived
through) inject the faults a tester asks for.
"""

from riverpatrol.demo.run import DemoOptions, plan_items, run_demo

__all__ = ["DemoOptions", "plan_items", "run_demo"]
