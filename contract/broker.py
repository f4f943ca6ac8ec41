"""How every RiverPatrol MQTT client proves itself to the broker, and encrypts the link.

A city's broker should not take alerts from anyone on the radio link: give each drone and the
ground station a user (``mosquitto_passwd``; ``riverpatrol gcs broker-config --password-file``)
and, across untrusted networks, TLS. One definition here, so the drone's link, the relay and
the fleet dashboard connect the same way.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class BrokerAuth:
    """A client's broker credentials and TLS; the empty default is an anonymous, plain link."""

    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""  # empty with tls: the system's trust store

    def apply(self, client: Any) -> None:
        """Set these on a paho ``mqtt.Client`` before it connects."""
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        if self.tls:
            client.tls_set(ca_certs=self.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)

    def __repr__(self) -> str:  # never a password in a log line or a traceback
        return f"BrokerAuth(username={self.username!r}, tls={self.tls}, ca_file={self.ca_file!r})"
